import { z } from "zod";
import { POLICY_NAMES } from "./types.ts";

// report.json as a JSON Schema (`vor-power schema report`), for tools that read simulator reports.
// The TypeScript types in types.ts are the source; a test checks a real report validates.

const policySummarySchema = z.strictObject({
  name: z.enum(POLICY_NAMES),
  hostHours: z.number().min(0),
  cost: z.number().min(0),
  savingsVsAlwaysOn: z.number(),
  costVsOracle: z.number().min(0),
  waitMeanMin: z.number().min(0),
  waitP50Min: z.number().min(0),
  waitP95Min: z.number().min(0),
  waitMaxMin: z.number().min(0),
  runsWaited: z.number().int().min(0),
  runsWaitedLong: z.number().int().min(0),
  starts: z.number().int().min(0),
  stops: z.number().int().min(0),
  runsKilled: z.number().int().min(0),
});

export const reportSchema = z.strictObject({
  world: z.strictObject({
    bootMin: z.number().min(0),
    bootstrapMin: z.number().min(0),
    tickMin: z.number().positive(),
    pricePerHostHour: z.number().min(0),
    days: z.number().int().positive(),
    seed: z.number().int().min(0),
    start: z.iso.datetime({ offset: true }),
    runs: z.number().int().min(0),
    trace: z.string(),
    maxHosts: z.number().int().min(0),
  }),
  policies: z.array(policySummarySchema).length(POLICY_NAMES.length),
  notes: z.array(z.string()),
});
