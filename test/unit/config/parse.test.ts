import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatIssue,
  parseConfig,
  parseScheduleSections,
  readConfigText,
  type ConfigIssue,
} from "../../../shared/config/index.ts";
import { rawConfig, rawConfigWith } from "../../support/config-builder.ts";

const paths = (issues: readonly ConfigIssue[]) =>
  issues.map((issue) => formatIssue(issue).split(": ")[0]);

function errorsOf(raw: unknown): ConfigIssue[] {
  const result = parseConfig(raw);
  if (result.ok) throw new Error("expected the config to be rejected, but it parsed");
  return result.errors;
}

function errorAt(raw: unknown, path: string): string {
  const errors = errorsOf(raw);
  // The error may sit at the field or inside it (runQueues -> runQueues.pattern).
  const found = errors.find(
    (issue) =>
      /^[:.[]/.test(formatIssue(issue).slice(path.length)) && formatIssue(issue).startsWith(path),
  );
  if (!found)
    throw new Error(`no error at ${path}; errors were:\n${errors.map(formatIssue).join("\n")}`);
  return found.message;
}

describe("parseConfig", () => {
  it("accepts the annotated example with no warnings", () => {
    const read = readConfigText(readFileSync("examples/vor-power.yaml", "utf8"));
    if (!read.ok) throw new Error(read.errors.map(formatIssue).join("\n"));

    const result = parseConfig(read.raw);

    expect(result.ok ? result.warnings : result.errors).toEqual([]);
    expect(result.ok && Object.keys(result.config.pools)).toEqual(["compute"]);
  });

  it("applies DESIGN.md's defaults and turns durations into milliseconds", () => {
    const result = parseConfig(rawConfig());

    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    const pool = result.config.pools.compute;
    expect(pool).toMatchObject({
      min: 0,
      max: 8,
      runsPerHost: 1,
      startupEstimate: 300_000,
      startTimeout: 600_000,
      startGrace: 120_000,
      idleTimeout: 1_200_000,
      minUptime: 900_000,
      drainGrace: 60_000,
      restartCooldown: 300_000,
      maxStartsPerTick: 4,
      bootstrapTimeout: 900_000,
      protectionCooldown: 3_600_000,
      blockedTimeout: 1_800_000,
      signalMaxAge: 120_000,
      checkTimeout: 60_000,
      eventTtl: 600_000,
      channel: "ssh",
      prewarm: "none",
    });
    expect(result.config.runSchedules["nightly-batch"]?.leadTime).toBe(600_000);
    expect(result.config.signals.midtier?.listMaxAge).toBe(30_000);
    expect(result.config.cloud.poolTag).toBe("vor:pool");
  });

  it("reads a pool's unset busy sources as every configured source", () => {
    const withBoth = parseConfig(rawConfig());
    const midtierOnly = parseConfig(rawConfigWith(["signals.rabbitmq", undefined]));

    expect(withBoth.ok && withBoth.config.pools.compute?.busy).toEqual(["rabbitmq", "midtier"]);
    expect(midtierOnly.ok && midtierOnly.config.pools.compute?.busy).toEqual(["midtier"]);
  });

  it("rejects an unknown key and suggests the known one it resembles", () => {
    const message = errorAt(
      rawConfigWith(["pools.compute.idleTimout", "20m"]),
      "pools.compute.idleTimout",
    );

    expect(message).toContain('did you mean "idleTimeout"?');
    expect(message).toContain("unknown key");
  });

  it("rejects an unknown top-level section", () => {
    const message = errorAt(rawConfigWith(["scheduls", {}]), "scheduls");

    expect(message).toContain('did you mean "schedules"?');
  });

  it("reports every error at once, across sections and pools", () => {
    const raw = rawConfigWith(
      ["pools.compute.min", "two"],
      ["pools.batch", { max: 2, idleTimeout: "soon" }],
      ["cloud.region", "London"],
      ["schedules.business-hours.periods", [{ begintime: "24:00" }]],
      ["runSchedules.nightly-batch.pool", "comptue"],
    );

    const found = paths(errorsOf(raw));

    expect(found).toEqual(
      expect.arrayContaining([
        "pools.compute.min",
        "pools.batch.idleTimeout",
        "cloud.region",
        "schedules.business-hours.periods[0].begintime",
        "runSchedules.nightly-batch.pool",
      ]),
    );
  });

  it.each([
    ["pools.compute.max", undefined, "expected a number", "add this field"],
    ["pools.compute.min", -1, "expected at least 0", "found -1"],
    ["pools.compute.max", 2.5, "expected", "found 2.5"],
    ["pools.compute.channel", "telnet", 'expected one of "ssh", "ssm"', 'found "telnet"'],
    ["pools.compute.idleTimeout", "20", 'expected a duration such as "90s"', 'found "20"'],
    ["pools.compute.idleTimeout", 20, "expected a duration", "found number"],
    [
      "signals.midtier.runsUrl",
      "midtier.internal/api",
      "expected an http(s) URL",
      "midtier.internal/api",
    ],
    ["cloud.provider", "gcp", "supported kinds (aws)", 'found "gcp"'],
    ["state.table", "x", "expected at least 3", 'found "x"'],
    ["alerts.topicArn", "vor-power", "expected an SNS topic ARN", 'found "vor-power"'],
    ["bootstrap.playpens.0.path", "data/playpen", "expected an absolute path", "data/playpen"],
    ["signals.rabbitmq.runQueues", { pattern: "^vor\\.run\\." }, "named group (?<runId>", "^vor"],
    ["signals.rabbitmq.ignoreConsumers", ["(unclosed"], "regular expression", "(unclosed"],
  ])("rejects %s = %j naming what it expected and found", (path, value, expected, found) => {
    const message = errorAt(rawConfigWith([path, value]), path.replace(/\.(\d+)/g, "[$1]"));

    expect(message).toContain(expected);
    expect(message).toContain(found);
    expect(message).toMatch(/fix: /);
  });

  it("rejects an inline secret by field and never shows its value", () => {
    const raw = rawConfigWith(
      ["signals.rabbitmq.password", "hunter2-rabbit"],
      ["signals.midtier.token", "tok-3141592"],
      ["bootstrap.vault.approle.secretId", "s.deadbeef"],
    );

    const errors = errorsOf(raw);

    expect(paths(errors)).toEqual(
      expect.arrayContaining([
        "signals.rabbitmq.password",
        "signals.midtier.token",
        "bootstrap.vault.approle.secretId",
      ]),
    );
    const text = errors.map(formatIssue).join("\n");
    expect(text).toContain("inline secret (value not shown)");
    expect(text).not.toMatch(/hunter2|3141592|deadbeef/);
  });

  it("never shows a secret pasted into a reference field, whatever its text", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 6 }).filter((s) => s.trim().length >= 6),
        (secret) => {
          const raw = rawConfigWith(
            ["signals.rabbitmq.password", secret],
            ["signals.midtier.token", { fromEnv: 1, x: secret }],
          );

          const text = errorsOf(raw).map(formatIssue).join("\n");

          expect(text.includes(secret)).toBe(false);
        },
      ),
    );
  });

  it.each([
    [{ fromSsm: "/a", fromEnv: "B" }, "found both"],
    [{}, "found neither"],
  ])("rejects a secret reference %j", (ref, found) => {
    expect(
      errorAt(rawConfigWith(["signals.midtier.token", ref]), "signals.midtier.token"),
    ).toContain(found);
  });

  it("rejects a config that is not a mapping", () => {
    expect(errorAt([1, 2], "(top level)")).toContain("found a list");
    expect(errorAt(null, "(top level)")).toContain("found an empty file");
  });
});

describe("cross-field rules", () => {
  it("rejects a window that names no schedule", () => {
    const message = errorAt(
      rawConfigWith(["pools.compute.windows", [{ schedule: "buisness-hours", hosts: 1 }]]),
      "pools.compute.windows[0].schedule",
    );

    expect(message).toContain('found "buisness-hours"');
    expect(message).toContain("business-hours");
  });

  it("rejects a run schedule that names no pool, even when that pool has errors of its own", () => {
    const unknownPool = rawConfigWith(["runSchedules.nightly-batch.pool", "batch"]);
    const brokenPool = rawConfigWith(["pools.compute.min", "zero"]);

    expect(errorAt(unknownPool, "runSchedules.nightly-batch.pool")).toContain('found "batch"');
    expect(paths(errorsOf(brokenPool))).toEqual(["pools.compute.min"]);
  });

  it("rejects min above max", () => {
    const message = errorAt(rawConfigWith(["pools.compute.min", 9]), "pools.compute.min");

    expect(message).toContain("expected min at most max (8), found 9");
  });

  it("rejects busy sources without the midtier", () => {
    const message = errorAt(
      rawConfigWith(["pools.compute.busy", ["rabbitmq"]]),
      "pools.compute.busy",
    );

    expect(message).toContain("includes midtier");
  });

  it("rejects a busy source that is not configured", () => {
    const raw = rawConfigWith(
      ["signals.rabbitmq", undefined],
      ["pools.compute.busy", ["midtier", "rabbitmq"]],
    );

    expect(errorAt(raw, "pools.compute.busy[1]")).toContain("signals.rabbitmq to be configured");
  });

  it("rejects a config without the midtier source that every pool needs", () => {
    const raw = rawConfigWith(["signals.midtier", undefined]);

    expect(errorAt(raw, "signals.midtier")).toContain("pool compute reads it");
  });

  it.each([
    ["30s", "30s", true],
    ["20s", "30s", true],
    ["31s", "30s", false],
    ["1m", "30s", false],
  ])("drainGrace %s against listMaxAge %s is rejected: %s", (drainGrace, listMaxAge, rejected) => {
    const raw = rawConfigWith(
      ["pools.compute.drainGrace", drainGrace],
      ["signals.midtier.listMaxAge", listMaxAge],
    );

    const result = parseConfig(raw);

    expect(!result.ok && paths(result.errors).includes("pools.compute.drainGrace")).toBe(rejected);
  });

  it("warns about numeric weekdays in cron and in windows, and still accepts them", () => {
    const raw = rawConfigWith(
      ["runSchedules.nightly-batch.cron", "0 2 * * 1-5"],
      [
        "schedules.business-hours.periods",
        [{ begintime: "07:00", endtime: "19:00", weekdays: "0-4" }],
      ],
    );

    const result = parseConfig(raw);

    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    expect(paths(result.warnings)).toEqual(
      expect.arrayContaining([
        "runSchedules.nightly-batch.cron",
        "schedules.business-hours.periods[0].weekdays",
      ]),
    );
  });

  it.each([
    [
      ["signals.rabbitmq.requestQueues", [{ queue: "q", pool: "gpu" }]],
      "signals.rabbitmq.requestQueues[0].pool",
    ],
    [["bootstrap.vault", undefined], "bootstrap.vault"],
    [["bootstrap.ssh", undefined], "bootstrap.ssh"],
    [["bootstrap.vault.sign.ttl", "2h"], "bootstrap.vault.sign.ttl"],
    [["pools.compute.startGrace", "10m"], "pools.compute.startGrace"],
    [["pools.compute.bootGrace", "15m"], "pools.compute.bootGrace"],
    [["pools", {}], "pools"],
  ] as [[string, unknown], string][])("rejects %j at %s", (change, path) => {
    expect(errorAt(rawConfigWith(change), path)).toMatch(/^expected .*found .*fix: /);
  });

  it("accepts an ssm pool without vault or ssh sections", () => {
    const raw = rawConfigWith(
      ["pools.compute.channel", "ssm"],
      ["bootstrap.vault", undefined],
      ["bootstrap.ssh", undefined],
    );

    expect(parseConfig(raw).ok).toBe(true);
  });

  it("warns when there is no alert destination or playpen", () => {
    const result = parseConfig(rawConfigWith(["alerts", undefined], ["bootstrap.playpens", []]));

    expect(result.ok && paths(result.warnings)).toEqual(["bootstrap.playpens", "alerts"]);
  });
});

describe("readConfigText", () => {
  it("reads JSON as well as YAML", () => {
    const read = readConfigText(JSON.stringify(rawConfig()));

    expect(read.ok && parseConfig(read.raw).ok).toBe(true);
  });

  it("rejects a duplicate key with its line", () => {
    const read = readConfigText("pools:\n  compute: { max: 1 }\n  compute: { max: 2 }\n");

    expect(read.ok ? "" : read.errors[0]?.message).toMatch(/line 3/);
  });

  it("rejects broken YAML with its line and column", () => {
    const read = readConfigText("pools:\n  compute: { max: 1\n");

    expect(read.ok ? "" : read.errors[0]?.message).toMatch(/syntax error at line \d+, column \d+/);
  });
});

describe("parseScheduleSections", () => {
  it("validates only schedules and run schedules, ignoring other sections", () => {
    const raw = { schedules: rawConfig().schedules, pools: "not even an object", cloud: 3 };

    const result = parseScheduleSections(raw);

    expect(result.ok).toBe(true);
  });

  it("still rejects a bad schedule", () => {
    const raw = {
      schedules: { office: { timezone: "Mars/Olympus", periods: [{ weekdays: "mon-fri" }] } },
    };

    const result = parseScheduleSections(raw);

    expect(!result.ok && paths(result.errors)).toEqual(["schedules.office.timezone"]);
  });
});
