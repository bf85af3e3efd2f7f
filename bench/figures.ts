/** Collects benchmark figures and writes docs/figures.json and docs/figures.md. */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface Figure {
  value: number;
  unit: string;
  goal: string;
}

export interface FigureRow extends Figure {
  name: string;
  group: string;
  note: string;
}

export class Figures {
  readonly rows: FigureRow[] = [];

  add(group: string, name: string, value: number, unit: string, goal = '', note = ''): void {
    this.rows.push({ group, name, value, unit, goal, note });
    const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4);
    console.log(`${group.padEnd(10)} ${name.padEnd(44)} ${shown.padStart(12)} ${unit.padEnd(8)} ${goal}`);
  }

  machine(): string {
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    // The load average tells whether other work shared the cores (timing figures and Lighthouse's scores move with it).
    return `${cpu} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${platform()} ${release()}, Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)}`;
  }

  /** Every figure comes from this run: nothing stale survives in the files. */
  write(jsonPath: string, markdownPath: string): void {
    const merged: Record<string, Figure & { group?: string; note?: string }> = {};
    for (const row of this.rows) merged[row.name] = { value: row.value, unit: row.unit, goal: row.goal, group: row.group, note: row.note };
    writeFileSync(jsonPath, JSON.stringify(merged, null, 2) + '\n');

    const lines = [
      '# Measured figures',
      '',
      'Written by `npm run bench`; do not edit by hand. Ratios compare figures measured in the same run.',
      '',
      `Machine: ${this.machine()}. Run: ${new Date().toISOString()}.`,
      '',
      '| group | figure | value | unit | goal | note |',
      '| --- | --- | ---: | --- | --- | --- |',
    ];
    for (const [name, f] of Object.entries(merged)) {
      const value = Number.isInteger(f.value) ? String(f.value) : f.value.toPrecision(4);
      lines.push(`| ${f.group ?? ''} | \`${name}\` | ${value} | ${f.unit} | ${f.goal} | ${f.note ?? ''} |`);
    }
    writeFileSync(markdownPath, lines.join('\n') + '\n');
  }
}
