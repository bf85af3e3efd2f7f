/** Every placement of every load, for checking the planner on small problems. */
import { evaluate, type Job, type Placement, type Problem } from '../planner';

export function placementsOf(job: Job): (Int32Array | undefined)[] {
  const out: (Int32Array | undefined)[] = [undefined];
  if (!job.interruptible) {
    for (let s = job.first; s + job.m <= job.end; s++) out.push(Int32Array.from({ length: job.m }, (_, j) => s + j));
    return out;
  }
  const pick = (j: number, from: number, acc: number[]) => {
    if (j === job.m) {
      out.push(Int32Array.from(acc));
      return;
    }
    for (let t = from; t <= job.end - (job.m - j); t++) {
      if (job.holdFirst && j === 0 && t !== 0) continue;
      acc.push(t);
      pick(j + 1, t + 1, acc);
      acc.pop();
    }
  };
  pick(0, job.first, []);
  return out;
}

export function combinations(problem: Problem): number {
  return problem.jobs.reduce((n, job) => n * placementsOf(job).length, 1);
}

export function bruteForce(problem: Problem): { objective: number; placement: Placement } {
  const options = problem.jobs.map(placementsOf);
  let best = { objective: Infinity, placement: [] as Placement };
  const current: Placement = problem.jobs.map(() => undefined);
  const walk = (k: number) => {
    if (k === problem.jobs.length) {
      const o = evaluate(problem.model, problem.jobs, current, problem.fixed);
      if (o.feasible && o.objective < best.objective) best = { objective: o.objective, placement: [...current] };
      return;
    }
    for (const p of options[k] ?? []) {
      current[k] = p;
      walk(k + 1);
    }
  };
  walk(0);
  return best;
}
