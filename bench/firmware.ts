/**
 * Size of the meter firmware (the STM32F107 image and the WebAssembly core), and the main
 * program's timing budget: instructions per task of the superloop under QEMU (make -C firmware qemu).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figures } from './figures';

/** Instructions at 1 per cycle: the share of a 72 MHz Cortex-M3 over one 80 ms DMA half (512 samples). */
const CYCLES_PER_HALF = 72e6 * (512 / 6400);

export function benchFirmware(figures: Figures): void {
  const firmware = fileURLToPath(new URL('../firmware/', import.meta.url));
  execFileSync('make', ['-s', '-C', firmware, 'arm', 'wasm'], { stdio: 'ignore' });
  const sections = execFileSync('arm-none-eabi-size', ['-A', `${firmware}build/arm/wattwall-meter.elf`], { encoding: 'utf8' });
  const size = (name: string) => {
    const m = new RegExp(`^\\${name}\\s+(\\d+)`, 'm').exec(sections);
    if (!m) throw new Error(`bench/firmware: no section ${name} in wattwall-meter.elf (arm-none-eabi-size -A)`);
    return Number(m[1]);
  };
  const flash = size('.isr_vector') + size('.text') + size('.rodata') + size('.ARM.exidx') + size('.data');
  // RAM from the linker script's symbols: ORIGIN(RAM) to the end of the stack reserve, so padding
  // between sections (alignment) counts as used, as it is.
  const symbols = execFileSync('arm-none-eabi-nm', [`${firmware}build/arm/wattwall-meter.elf`], { encoding: 'utf8' });
  const symbol = (name: string) => {
    const hex = new RegExp(`^([0-9a-f]+) \\w ${name}$`, 'm').exec(symbols)?.[1];
    if (hex === undefined) throw new Error(`bench/firmware: no symbol ${name} in wattwall-meter.elf (firmware/board/stm32f107/stm32f107.ld)`);
    return parseInt(hex, 16);
  };
  const ram = symbol('_ram_used_end') - symbol('_ram_origin');
  figures.add('firmware', 'arm_flash_bytes', flash, 'B', '< 98304 (96 KB)', 'whole firmware, STM32F107');
  figures.add('firmware', 'arm_ram_bytes', ram, 'B', '< 32768 (32 KB)', 'ORIGIN(RAM) to the end of the 2.5 KiB reserved stack');
  // The register-touching layer alone (board/stm32f107 objects: text + data).
  const board = ['startup', 'main', 'board', 'bxcan_calc'].map((o) => `${firmware}build/arm/obj/board/${o}.o`);
  const boardText = execFileSync('arm-none-eabi-size', board, { encoding: 'utf8' })
    .split('\n')
    .slice(1)
    .reduce((sum, line) => sum + (Number(line.trim().split(/\s+/)[0]) || 0), 0);
  figures.add('firmware', 'arm_board_layer_text_bytes', boardText, 'B', '', 'board/stm32f107 before --gc-sections');
  figures.add('firmware', 'wasm_core_bytes', statSync(`${firmware}build/wasm/meter.wasm`).size, 'B', '', 'meter core for the simulator');

  execFileSync('make', ['-s', '-C', firmware, 'qemu'], { stdio: 'ignore' });
  const log = readFileSync(`${firmware}build/qemu/poll.log`, 'utf8');
  // A missing line is an error, not a zero that would pass every goal.
  const line = (pattern: string) => {
    const m = new RegExp(pattern, 'm').exec(log);
    if (!m) throw new Error(`bench/firmware: no line /${pattern}/ in firmware/build/qemu/poll.log (make -C firmware qemu)`);
    return m;
  };
  const task = (name: string) => {
    const m = line(`^TASK ${name} runs (\\d+) mean (\\d+) max (\\d+)`);
    return { mean: Number(m[2]), max: Number(m[3]) };
  };
  const measure = task('measure');
  const can = task('can');
  const display = task('display');
  figures.add('firmware', 'task_measure_max_instructions', measure.max, 'insn', '', 'one 512-sample half, a window with two THDs');
  figures.add('firmware', 'task_measure_mean_instructions', measure.mean, 'insn', '', 'per 80 ms half');
  figures.add('firmware', 'task_can_max_instructions', can.max, 'insn', '', 'two polls answered (HMAC-SHA256 each)');
  figures.add('firmware', 'task_display_max_instructions', display.max, 'insn', '', 'hook, LED, relay');
  const worst = measure.max + can.max + display.max;
  figures.add('firmware', 'superloop_worst_pass_share', Number(((worst / CYCLES_PER_HALF) * 100).toFixed(1)), '%', '< 50', 'of an 80 ms half at 72 MHz, 1 insn per cycle');
  figures.add('firmware', 'qemu_stack_bytes', Number(line('^STACK (\\d+)')[1]), 'B', '< 2560', 'main program high-water mark; the STM32 build reserves 2.5 KiB');
}
