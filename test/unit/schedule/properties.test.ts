import fc from "fast-check";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import {
  evaluateSchedule,
  runScheduleFirings,
  scheduleTimeline,
  type PeriodInput,
  type Schedule,
} from "../../../shared/schedule/index.ts";
import { runOf, windowOf } from "./helpers.ts";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

// Zones with both DST directions, a 30-minute shift, a skipped midnight and none at all.
const ZONES = [
  "UTC",
  "Europe/London",
  "America/New_York",
  "Australia/Sydney",
  "Australia/Lord_Howe",
  "America/Santiago",
  "Asia/Kolkata",
];

// DST transitions of 2026 (see window-dst.test.ts), where bugs would hide.
const TRANSITIONS_MS = [
  "2026-03-08T07:00Z",
  "2026-03-29T01:00Z",
  "2026-04-04T16:00Z",
  "2026-10-03T16:00Z",
  "2026-10-25T01:00Z",
  "2026-11-01T06:00Z",
  "2026-09-06T04:00Z",
].map((text) => Date.parse(text));

const time = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 1, 15, 30, 58, 59))
  .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);

const period: fc.Arbitrary<PeriodInput> = fc
  .record(
    {
      begintime: time,
      endtime: time,
      weekdays: fc.constantFrom(
        "mon-fri",
        "sat,sun",
        "fri",
        "fri#2",
        "friL",
        "tue-thu/2",
        "L",
        "fri-mon",
      ),
      monthdays: fc.constantFrom("1-15", "L", "15W", "1-31/2", "28-L", "1", "2,9,16,23,30"),
      months: fc.constantFrom("jan-mar", "nov-feb", "*", "mar,apr,sep,oct,nov"),
    },
    { requiredKeys: [] },
  )
  .filter(
    (p) => Object.keys(p).length > 0 && (p.begintime === undefined || p.begintime !== p.endtime),
  );

const schedule: fc.Arbitrary<Schedule> = fc
  .tuple(fc.constantFrom(...ZONES), fc.array(period, { minLength: 1, maxLength: 4 }))
  .map(([zone, periods]) => windowOf(zone, ...periods));

const instant = fc.oneof(
  fc.integer({ min: Date.parse("2025-06-01T00:00Z"), max: Date.parse("2027-06-01T00:00Z") }),
  fc
    .tuple(fc.constantFrom(...TRANSITIONS_MS), fc.integer({ min: -26 * 60, max: 26 * 60 }))
    .map(([transition, minutes]) => transition + minutes * MINUTE_MS),
);

// A window of 1-10 days containing `t`, starting anywhere up to its length before `t`.
const windowAround = (t: number) =>
  fc
    .integer({ min: DAY_MS, max: 10 * DAY_MS })
    .chain((length) =>
      fc
        .integer({ min: 0, max: length - 1 })
        .map((before) => ({ from: t - before, to: t - before + length })),
    );

const instantWithWindow = instant.chain((t) => windowAround(t).map((w) => ({ t, ...w })));

describe("scheduleTimeline properties", () => {
  it("agrees with evaluateSchedule wherever the window starts", () => {
    fc.assert(
      fc.property(schedule, instantWithWindow, (s, { t, from, to }) => {
        const segments = scheduleTimeline(s, new Date(from), new Date(to));

        const containing = segments.find((seg) => seg.from.getTime() <= t && t < seg.to.getTime());
        expect(containing?.state).toBe(evaluateSchedule(s, new Date(t)));
      }),
    );
  });

  it("covers [from, to) with ordered, contiguous, non-empty segments that change state", () => {
    fc.assert(
      fc.property(schedule, instantWithWindow, (s, { from, to }) => {
        const segments = scheduleTimeline(s, new Date(from), new Date(to));

        expect(segments[0]?.from.getTime()).toBe(from);
        expect(segments.at(-1)?.to.getTime()).toBe(to);
        segments.forEach((seg, i) => {
          expect(seg.from.getTime()).toBeLessThan(seg.to.getTime());
          const next = segments[i + 1];
          if (next) {
            expect(next.from.getTime()).toBe(seg.to.getTime());
            expect(next.state).not.toBe(seg.state);
          }
        });
      }),
    );
  });

  it("runs a single same-day period in UTC exactly while the clock is between its times", () => {
    const minutes = fc.integer({ min: 0, max: 1438 });
    fc.assert(
      fc.property(minutes, minutes, instant, (a, b, t) => {
        fc.pre(a !== b);
        const [begin, end] = a < b ? [a, b] : [b, a];
        const hhmm = (m: number) =>
          `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
        const s = windowOf("UTC", { begintime: hhmm(begin), endtime: hhmm(end) });

        const state = evaluateSchedule(s, new Date(t));

        const clock = new Date(t).getUTCHours() * 60 + new Date(t).getUTCMinutes();
        expect(state).toBe(clock >= begin && clock < end ? "running" : "stopped");
      }),
    );
  });
});

const CRONS = [
  "30 1 * * *",
  "*/30 1 * * *",
  "0 * * * *",
  "0 2 * * mon-fri",
  "15 2 1 * *",
  "0 0 L * *",
  "*/20 0-3 * * sun",
];

describe("runScheduleFirings properties", () => {
  const runSchedule = fc
    .tuple(fc.constantFrom(...CRONS), fc.constantFrom(...ZONES))
    .map(([cron, zone]) => runOf(cron, zone));

  it("returns strictly ascending firings within [from, to)", () => {
    fc.assert(
      fc.property(runSchedule, instantWithWindow, (rs, { from, to }) => {
        const firings = runScheduleFirings(rs, new Date(from), new Date(to)).map((d) =>
          d.getTime(),
        );

        firings.forEach((f, i) => {
          expect(f).toBeGreaterThanOrEqual(from);
          expect(f).toBeLessThan(to);
          if (i > 0) expect(f).toBeGreaterThan(firings[i - 1] ?? -Infinity);
        });
      }),
    );
  });

  it("gives the same firings when the span is split in two", () => {
    fc.assert(
      fc.property(runSchedule, instantWithWindow, (rs, { t, from, to }) => {
        const whole = runScheduleFirings(rs, new Date(from), new Date(to));

        const parts = [
          ...runScheduleFirings(rs, new Date(from), new Date(t)),
          ...runScheduleFirings(rs, new Date(t), new Date(to)),
        ];
        expect(parts).toEqual(whole);
      }),
    );
  });

  it("fires 30 1 * * * at 01:30 local, or at a transition when 01:30 is skipped", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), instantWithWindow, (zone, { from, to }) => {
        const firings = runScheduleFirings(runOf("30 1 * * *", zone), new Date(from), new Date(to));

        for (const firing of firings) {
          const local = DateTime.fromJSDate(firing, { zone });
          const before = DateTime.fromMillis(firing.getTime() - 1, { zone });
          const atOneThirty = local.hour === 1 && local.minute === 30;
          const atTransition = local.offset !== before.offset;
          expect(atOneThirty || atTransition).toBe(true);
        }
      }),
    );
  });
});
