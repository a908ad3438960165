import type { Cancel, Clock } from 'twopc/internal/time/clock';
import type { SimRandom } from './sim-random.ts';

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * The simulated event loop: one seeded scheduler on simulated time. Every
 * timer, every store round trip and every participant call of a simulated
 * run is a task here; tasks due at the same instant run in a seeded order.
 * Between two tasks the real microtask queue drains (the code under test
 * is ordinary async code), and nothing else runs: no real timer or socket
 * is involved, so a seed replays exactly.
 */
export class SimScheduler implements Clock {
  readonly random: SimRandom;
  #now = 0;
  #seq = 0;
  #tasks: Task[] = [];
  /** Tasks run so far. */
  steps = 0;

  constructor(random: SimRandom) {
    this.random = random;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Cancel {
    const task = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#tasks.push(task);
    return () => {
      const i = this.#tasks.indexOf(task);
      if (i >= 0) {
        this.#tasks.splice(i, 1);
      }
    };
  }

  /** Runs tasks in time order until `done()` or simulated time passes `untilMs`. */
  async run(untilMs: number, done: () => boolean = () => false): Promise<void> {
    await drain();
    while (!done()) {
      const task = this.#next();
      if (task === null || task.at > untilMs) {
        this.#now = Math.max(this.#now, untilMs);
        return;
      }
      this.#tasks.splice(this.#tasks.indexOf(task), 1);
      this.#now = task.at;
      this.steps++;
      task.fn();
      await drain();
    }
  }

  /** The earliest task; among those due at the same instant, a seeded choice. */
  #next(): Task | null {
    let earliest = Infinity;
    for (const t of this.#tasks) {
      earliest = Math.min(earliest, t.at);
    }
    const due = this.#tasks.filter((t) => t.at === earliest);
    return due.length === 0 ? null : this.random.pick(due);
  }
}

/** Lets every microtask queued so far (and those they queue) run. */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
