import type { SimConfig } from './sim-config.ts';
import type { SimLog } from './sim-log.ts';
import type { SimParticipant } from './sim-participants.ts';
import type { SimProcess } from './sim-process.ts';
import type { SimRandom } from './sim-random.ts';
import type { SimScheduler } from './sim-scheduler.ts';
import type { Counted } from './sim-stats.ts';

/** What the fault schedule needs of its world. */
export interface FaultWorld {
  readonly config: SimConfig;
  readonly rnd: SimRandom;
  readonly sched: SimScheduler;
  readonly log: SimLog;
  readonly participants: readonly SimParticipant[];
  readonly healed: boolean;
  /** Processes alive and not frozen. */
  serving(): SimProcess[];
  /** Starts a process again under the same name (unless healed: then the heal does). */
  restartLater(proc: SimProcess, ms: number): void;
  note(what: string): void;
  count(what: Counted): void;
}

/**
 * Schedules the seed's faults, all before `healAtMs`: the log crashing,
 * not answering, refusing and losing answers, forced writes that are
 * visible but not durable; coordinators killed, frozen past their lease,
 * cut from the log or from one participant; participants down, crashing
 * (losing unprepared work), gray (healthy to checks, failing phase 2),
 * losing and slowing calls.
 */
export function scheduleFaults(w: FaultWorld, healAtMs: number): void {
  const { rnd, config, log, sched } = w;
  const f = config.faults;
  const times = (n: number, fn: () => void): void => {
    for (let k = 0; k < n; k++) {
      sched.setTimeout(
        () => {
          if (!w.healed) {
            fn();
          }
        },
        rnd.int(0, healAtMs - 500),
      );
    }
  };
  const later = (ms: number, fn: () => void): void => {
    sched.setTimeout(fn, ms);
  };
  const logDown = (ms: number, back: string): void => {
    log.up = false;
    later(ms, () => {
      log.up = true;
      w.note(back);
    });
  };
  times(f.logCrashes, () => {
    w.count('log crash');
    w.note('FAULT the log crashes (unflushed writes lost, incarnation emptied)');
    log.crash();
    logDown(rnd.int(20, 2_000), 'the log is back');
  });
  times(f.logOutages, () => {
    w.count('log outage');
    w.note('FAULT the log stops answering');
    logDown(rnd.int(50, 3_000), 'the log answers again');
  });
  const anyProcess = (fn: (proc: SimProcess) => void): (() => void) => {
    return () => {
      const serving = w.serving();
      if (serving.length > 0) {
        fn(rnd.pick(serving));
      }
    };
  };
  times(
    f.kills,
    anyProcess((proc) => {
      w.count('coordinator killed');
      proc.alive = false;
      w.note(`FAULT coordinator ${proc.name} is killed`);
      w.restartLater(proc, rnd.int(50, 4_000));
    }),
  );
  times(
    f.freezes,
    anyProcess((proc) => {
      const ms = Math.round(config.coordinatorLeaseMs * (1.2 + rnd.float() * 2));
      w.count('coordinator frozen past its lease');
      w.note(`FAULT coordinator ${proc.name} freezes for ${ms} ms`);
      proc.freeze(ms);
    }),
  );
  times(
    f.logCuts,
    anyProcess((proc) => {
      w.count('coordinator cut from the log');
      w.note(`FAULT coordinator ${proc.name} is cut from the log`);
      proc.cutFromLog = true;
      later(rnd.int(100, config.coordinatorLeaseMs * 2), () => {
        proc.cutFromLog = false;
      });
    }),
  );
  times(
    f.participantCuts,
    anyProcess((proc) => {
      const p = rnd.pick(w.participants);
      w.count('coordinator cut from a participant');
      w.note(`FAULT coordinator ${proc.name} is cut from ${p.name}`);
      proc.cut(p.name, true);
      later(rnd.int(100, 4_000), () => proc.cut(p.name, false));
    }),
  );
  const anyParticipant = (fn: (p: SimParticipant) => void): (() => void) => {
    return () => fn(rnd.pick(w.participants));
  };
  times(
    f.participantDowns,
    anyParticipant((p) => {
      w.count('participant down');
      p.up = false;
      w.note(`FAULT participant ${p.name} is down`);
      later(rnd.int(50, 5_000), () => {
        p.up = true;
        w.note(`participant ${p.name} is back`);
      });
    }),
  );
  times(
    f.participantCrashes,
    anyParticipant((p) => {
      w.count('participant crash (unprepared work lost)');
      w.note(`FAULT participant ${p.name} crashes (work not prepared is lost)`);
      p.crash();
      p.crashed = true;
      later(rnd.int(50, 3_000), () => {
        p.crashed = false;
        w.note(`participant ${p.name} restarted`);
      });
    }),
  );
  times(
    f.grays,
    anyParticipant((p) => {
      w.note(`FAULT participant ${p.name} turns gray (healthy, phase 2 fails)`);
      p.gray = true;
      later(rnd.int(500, 8_000), () => {
        p.gray = false;
      });
    }),
  );
}

/** Sets the seed's fault rates (per round trip and per call) until the heal. */
export function applyRates(w: FaultWorld): void {
  const f = w.config.faults;
  w.log.faults = {
    refuse: f.logRefuse,
    loseAnswer: f.logLoseAnswer,
    notDurable: f.notDurable,
    slow: f.logSlow,
  };
  for (const p of w.participants) {
    p.loss = f.callLoss;
    p.slow = f.callSlow;
  }
}

/** Every fault heals: the rest of the run must finish everything. */
export function healAll(w: FaultWorld): void {
  w.log.up = true;
  w.log.faults = { refuse: 0, loseAnswer: 0, notDurable: 0, slow: 0 };
  for (const p of w.participants) {
    Object.assign(p, { up: true, crashed: false, gray: false, loss: 0, slow: 0 });
  }
}
