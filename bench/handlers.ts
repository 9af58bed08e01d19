// The Lambda handlers (issue 11): run-submitted latency against moto on loopback (handler entry
// to the StartInstances request leaving the SDK), uncontended and with a tick holding the pool's
// lease; each handler's bundle size (esbuild, minified); and the bundles' cold module-load time.
// Prints numbers and asserts nothing. Goal: under 100 ms warm uncontended. See bench/README.md.
import { build, type Metafile } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { motoInstalled } from "../test/support/services.ts";
import {
  SLOW_MIDTIER_MS,
  measureLatency,
  type Call,
  type LatencyResult,
  type Sample,
} from "./handler-latency.ts";
import { median, percentile, sortedOf } from "./stats.ts";

const WARMUP = 5;
const SAMPLES = 60;
const SPAWNS = 10;
const HANDLERS = ["tick", "run-submitted", "host-state-change", "ops"] as const;
const ROOT = resolve(import.meta.dirname, "..");

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1).padStart(7) : "      -");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(11);

function row(label: string, xs: readonly number[]): string {
  if (xs.length === 0) return `  ${label.padEnd(54)} (no samples)`;
  const s = sortedOf(xs);
  return `  ${label.padEnd(54)}${ms(median(s))}${ms(percentile(s, 95))}${ms(s[0] ?? Number.NaN)}${ms(s.at(-1) ?? Number.NaN)}`;
}

const header = (label: string) =>
  `  ${label.padEnd(54)}${"median".padStart(7)}${"p95".padStart(7)}${"min".padStart(7)}${"max".padStart(7)}`;

const latency = (s: Sample) => (s.startSent === undefined ? Number.NaN : s.startSent - s.entered);
const started = (samples: readonly Sample[]) => samples.filter((s) => s.startSent !== undefined);

function printLatency(result: LatencyResult): void {
  const { uncontended, contendedTight, contendedSlow, first } = result;
  console.log(
    `\nrun-submitted: event enters the handler -> StartInstances request leaves the SDK (ms)\n` +
      `moto and a loopback midtier on 127.0.0.1, a pool of 8 stopped hosts, one run of 1 host per event,\n` +
      `${SAMPLES} events per scenario after ${WARMUP} warm-up events; the world is reset between events`,
  );
  console.log(header("scenario"));
  console.log(row("uncontended (the handler starts the host)", started(uncontended).map(latency)));
  console.log(
    row(
      "contended: tick mid-round, ends when handler returns",
      started(contendedTight).map(latency),
    ),
  );
  console.log(
    row(
      `contended: tick waiting ${SLOW_MIDTIER_MS} ms on the midtier`,
      started(contendedSlow).map(latency),
    ),
  );
  console.log(
    `  first event of the process (fresh SDK clients, no connections): ${latency(first).toFixed(1)} ms`,
  );

  steps(
    "uncontended, the handler's calls (median over the events; offsets from handler entry)",
    started(uncontended),
    (s) => s.calls,
    (s) => s.entered,
  );

  for (const [label, samples] of [
    ["contended, tick mid-round", contendedTight],
    [`contended, tick waiting on the midtier`, contendedSlow],
  ] as const) {
    const ok = started(samples);
    const byTick = ok.filter((s) => s.startedBy === "tick" && s.again !== undefined);
    console.log(
      `\n  ${label}: started by the tick's re-plan ${byTick.length}, by the handler ${ok.length - byTick.length}, none ${samples.length - ok.length}`,
    );
    console.log(header("  phase"));
    console.log(
      row(
        "  handler entry -> handler returned",
        ok.map((s) => s.returned - s.entered),
      ),
    );
    console.log(
      row(
        "  handler returned -> tick's release says again",
        byTick.map((s) => (s.again ?? Number.NaN) - s.returned),
      ),
    );
    console.log(
      row(
        "  release says again -> StartInstances (re-plan)",
        byTick.map((s) => (s.startSent ?? Number.NaN) - (s.again ?? Number.NaN)),
      ),
    );
    console.log(row("  total: handler entry -> StartInstances", ok.map(latency)));
    steps(
      `${label}, the handler's calls (offsets from handler entry)`,
      byTick,
      (s) => s.calls,
      (s) => s.entered,
      { label: "handler returned", at: (s) => s.returned },
    );
    steps(
      `${label}, the tick's re-plan (offsets from its release saying again)`,
      byTick,
      (s) => s.replan ?? [],
      (s) => s.again ?? Number.NaN,
    );
  }

  const failures = [...uncontended, ...contendedTight, ...contendedSlow].reduce(
    (sum, s) => sum + s.failures,
    0,
  );
  const none = [...uncontended, ...contendedTight, ...contendedSlow].filter(
    (s) => s.startSent === undefined,
  ).length;
  if (failures + none > 0)
    console.log(
      `\n  !!! ${none} events started no host and ${failures} records were returned as failures: run with BENCH_LOGS=true to see the handler's logs`,
    );
}

/** Time of [from, to) inside none of the calls (in-process work: parsing, planning, logs). */
function outsideCalls(calls: readonly Call[], from: number, to: number): number {
  let busy = 0;
  let reached = from;
  for (const call of [...calls].sort((a, b) => a.start - b.start)) {
    const start = Math.max(call.start, reached);
    const end = Math.min(call.end, to);
    if (end > start) busy += end - start;
    reached = Math.max(reached, end);
  }
  return to - from - busy;
}

/** The calls of one path, by position, median offset and duration; they must match in order. */
function steps(
  title: string,
  samples: readonly Sample[],
  callsOf: (s: Sample) => readonly Call[],
  origin: (s: Sample) => number,
  end: { label: string; at: (s: Sample) => number } = {
    label: "StartInstances sent",
    at: (s) => s.startSent ?? Number.NaN,
  },
): void {
  const shapes = new Set(
    samples.map((s) =>
      callsOf(s)
        .map((c) => c.what)
        .join(","),
    ),
  );
  const base = samples[0];
  if (base === undefined) return;
  console.log(`\n  ${title}:`);
  if (shapes.size > 1) {
    console.log(`    (the calls varied between events: ${shapes.size} different sequences)`);
    return;
  }
  console.log(`    ${"call".padEnd(32)}${"sent at".padStart(9)}${"took".padStart(9)}`);
  callsOf(base).forEach((call, i) => {
    const at = samples.map((s) => (callsOf(s)[i]?.start ?? Number.NaN) - origin(s));
    const took = samples.map((s) => {
      const c = callsOf(s)[i];
      return c === undefined ? Number.NaN : c.end - c.start;
    });
    console.log(
      `    ${call.what.padEnd(32)}${ms(median(at)).padStart(9)}${ms(median(took)).padStart(9)}`,
    );
  });
  const ends = samples.map((s) => end.at(s) - origin(s));
  console.log(`    ${end.label.padEnd(32)}${ms(median(ends)).padStart(9)}`);
  const outside = samples.map((s) => outsideCalls(callsOf(s), origin(s), end.at(s)));
  console.log(
    `    in-process time outside every call above: median ${median(outside).toFixed(1)} ms`,
  );
}

interface Bundle {
  handler: string;
  /** the entry chunk */
  file: string;
  /** the entry chunk and every chunk it imports statically: what a cold start loads */
  bytes: number;
  gzip: number;
  /** the chunks loaded only when first needed (the SSH channel, Vault, SSM) */
  lazyBytes: number;
  metafile: Metafile;
}

async function bundle(handler: string, outdir: string, external: string[]): Promise<Bundle> {
  const dir = join(outdir, handler);
  const file = join(dir, `${handler}.mjs`);
  const result = await build({
    entryPoints: [join(ROOT, "functions", "aws", `${handler}.ts`)],
    outdir: dir,
    outExtension: { ".js": ".mjs" },
    // The SSH channel, Vault and SSM are imported dynamically by the wiring: with splitting they
    // become chunks of their own, loaded on the first bootstrap instead of at every cold start.
    splitting: true,
    chunkNames: "chunk-[hash]",
    bundle: true,
    minify: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // ssh2's optional native add-ons (its crypto binding, cpu-features) stay out: ssh2 requires
    // them inside try/catch and falls back to JavaScript when they are missing.
    external: [...external, "*.node"],
    // CommonJS dependencies inside an ESM bundle call require() for Node's built-ins, and ssh2's
    // poly1305 (Emscripten) reads __dirname when the SSH channel is first loaded.
    banner: {
      js: 'import{createRequire}from"node:module";import{fileURLToPath as __vpPath}from"node:url";import{dirname as __vpDir}from"node:path";const require=createRequire(import.meta.url);const __filename=__vpPath(import.meta.url);const __dirname=__vpDir(__filename);',
    },
    metafile: true,
    logLevel: "silent",
  });
  // What a cold start loads: the entry chunk and the chunks it imports statically, transitively.
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((path) => resolve(path) === file) ?? file;
  const eager = new Set<string>();
  const visit = (path: string) => {
    if (eager.has(path) || !(path in outputs)) return;
    eager.add(path);
    for (const imported of outputs[path]?.imports ?? [])
      if (imported.kind === "import-statement" && imported.external !== true) visit(imported.path);
  };
  visit(entry);
  const code = Buffer.concat([...eager].map((path) => readFileSync(path)));
  const total = Object.values(outputs).reduce((sum, o) => sum + o.bytes, 0);
  return {
    handler,
    file,
    bytes: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    lazyBytes: total - code.length,
    metafile: result.metafile,
  };
}

/** The bundle's biggest packages (node_modules/<package> or our own code), by bytes in the output. */
function biggest(b: Bundle, count: number): string {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(b.metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
      const name = match?.[1] ?? "(vor-power)";
      byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...byPackage]
    .sort((a, c) => c[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(0)} KiB`)
    .join(", ");
}

/** One fresh process's time to import the bundle; nothing of AWS in its environment. */
function importOnce(file: string): number | string {
  const script =
    `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
    `process.stdout.write(String(performance.now() - t0)); process.exit(0);`;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
    timeout: 30_000,
  });
  const time = Number(child.stdout);
  if (child.status !== 0 || child.stdout === "" || !Number.isFinite(time))
    return (child.stderr || `exit ${String(child.status)}`).trim().split("\n")[0] ?? "";
  return time;
}

async function bundles(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "vor-power-bench-bundles-"));
  try {
    const all = join(dir, "bundled");
    const ext = join(dir, "sdk-external");
    mkdirSync(all);
    mkdirSync(ext);
    // The @aws-sdk/* packages an external bundle imports come from the repo's node_modules, as
    // the Lambda runtime's own copy of SDK v3 would (/var/runtime/node_modules).
    symlinkSync(join(ROOT, "node_modules"), join(ext, "node_modules"), "dir");
    console.log(
      `\nhandler bundles: esbuild, bundle + minify, platform node, target node22, format esm\n` +
        `bytes: the entry chunk and the chunks it imports statically (what a cold start loads); "bundled": all code inside; "sdk external": @aws-sdk/* left to the Lambda runtime's SDK v3.\n` +
        `cold import: median over ${SPAWNS} fresh \`node\` ${process.versions.node} processes of performance.now() around\n` +
        `\`await import(bundle)\`, env = PATH only (no AWS or POWERTOOLS variables: nothing is built at import)`,
    );
    console.log(
      `  ${"".padEnd(18)}${"bundled".padStart(11)}${"".padStart(11)}${"import ms".padStart(17)}  |${"sdk external".padStart(11)}${"".padStart(11)}${"import ms".padStart(17)}`,
    );
    console.log(
      `  ${"handler".padEnd(18)}${"bytes".padStart(11)}${"gzip -9".padStart(11)}${"median (min)".padStart(17)}  |${"bytes".padStart(11)}${"gzip -9".padStart(11)}${"median (min)".padStart(17)}`,
    );
    const built: { handler: string; bundled: Bundle; external: Bundle }[] = [];
    for (const handler of HANDLERS)
      built.push({
        handler,
        bundled: await bundle(handler, all, []),
        external: await bundle(handler, ext, ["@aws-sdk/*"]),
      });
    // Round-robin over the bundles, so that a busy moment of the machine is shared by all.
    const times = new Map<Bundle, number[]>();
    const errors = new Set<string>();
    for (let i = 0; i < SPAWNS; i++) {
      for (const b of built.flatMap((x) => [x.bundled, x.external])) {
        const time = importOnce(b.file);
        if (typeof time === "string") errors.add(`${b.file}: ${time}`);
        else times.set(b, [...(times.get(b) ?? []), time]);
      }
    }
    const load = (b: Bundle) => {
      const xs = times.get(b) ?? [];
      return xs.length === 0
        ? "failed".padStart(17)
        : `${ms(median(xs))} (${ms(Math.min(...xs)).trim()})`.padStart(17);
    };
    for (const { handler, bundled, external } of built)
      console.log(
        `  ${handler.padEnd(18)}${kb(bundled.bytes)}${kb(bundled.gzip)}${load(bundled)}  |${kb(external.bytes)}${kb(external.gzip)}${load(external)}`,
      );
    for (const { handler, bundled, external } of built)
      console.log(
        `  ${handler}: lazily loaded chunks (SSH, Vault, SSM; imported on the first bootstrap) ${kb(bundled.lazyBytes).trim()} bundled, ${kb(external.lazyBytes).trim()} sdk external`,
      );
    const tick = built.find((x) => x.handler === "tick");
    if (tick)
      console.log(`  largest parts of tick (bundled, all chunks): ${biggest(tick.bundled, 6)}`);
    for (const error of errors) console.log(`  !!! import failed: ${error}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log("bench/handlers.ts: the Lambda handlers (issue 11)");
  if (!motoInstalled()) {
    console.log(
      "\n!!! moto is not installed (.venv/bin/moto_server): run `npm test` once for the set-up; the latency part is skipped",
    );
  } else {
    const started = Date.now();
    const result = await measureLatency({ warmup: WARMUP, samples: SAMPLES });
    printLatency(result);
    console.log(`  (latency part took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  await bundles();
}

await main();
