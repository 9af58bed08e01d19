// Builders for config fixtures: a small valid config with defaults, changed by named overrides.

/** A minimal valid raw config (as read from YAML), one pool "compute", every required section. */
export function rawConfig(): Record<string, unknown> {
  return {
    schedules: {
      "business-hours": {
        timezone: "Europe/London",
        periods: [{ begintime: "07:00", endtime: "19:00", weekdays: "mon-fri" }],
      },
    },
    runSchedules: {
      "nightly-batch": {
        cron: "0 2 * * mon-fri",
        timezone: "Europe/London",
        pool: "compute",
        hosts: 4,
        leadTime: "10m",
        expectedDuration: "3h",
      },
    },
    pools: {
      compute: { min: 0, max: 8, windows: [{ schedule: "business-hours", hosts: 1 }] },
    },
    signals: {
      rabbitmq: {
        managementUrl: "https://rabbitmq.internal:15672",
        username: "vor-power",
        password: { fromSsm: "/vor-power/rabbitmq" },
        requestQueues: [{ vhost: "/", queue: "vor.requests", pool: "compute" }],
      },
      midtier: {
        runsUrl: "https://midtier.internal/api/runs",
        token: { fromEnv: "VOR_MIDTIER_TOKEN" },
      },
    },
    cloud: { provider: "aws", region: "eu-west-2" },
    state: { provider: "dynamodb", table: "vor-power-state" },
    alerts: { provider: "sns", topicArn: "arn:aws:sns:eu-west-2:123456789012:vor-power" },
    bootstrap: {
      vault: {
        address: "https://vault.internal:8200",
        approle: { roleId: "role-1", secretId: { fromSsm: "/vor-power/approle-secret-id" } },
        sign: { mount: "ssh-client-signer", role: "vor-bootstrap", principals: ["vor-bootstrap"] },
      },
      ssh: { user: "vor-bootstrap", hostKey: { mode: "ca", mount: "ssh-host-signer" } },
      playpens: [
        {
          path: "/data/playpen",
          fsTypes: ["nfs4"],
          runAs: "vorstream",
          marker: { file: ".vor-playpen", content: "vor-test" },
        },
      ],
    },
  };
}

/**
 * The raw config with `value` set at a dotted path ("pools.compute.min"); `undefined` deletes the
 * key. A path through something that is not an object is a mistake in the test: it throws.
 */
export function rawConfigWith(
  ...changes: [path: string, value: unknown][]
): Record<string, unknown> {
  const config = rawConfig();
  for (const [path, value] of changes) {
    const keys = path.split(".");
    const last = keys.pop();
    if (last === undefined) throw new Error("rawConfigWith: empty path");
    let node: Record<string, unknown> = config;
    for (const key of keys) {
      const next = node[key];
      if (next === null || typeof next !== "object") {
        throw new Error(`rawConfigWith: ${path} goes through ${key}, which is not an object`);
      }
      node = next as Record<string, unknown>;
    }
    if (value === undefined) Reflect.deleteProperty(node, last);
    else node[last] = value;
  }
  return config;
}
