import { describe, expect, it } from "vitest";
import { fixFor } from "../../../bin/cli/bootstrap-fixes.ts";
import {
  PLAYPEN_CHECKS,
  PLAYPEN_REASONS,
  playpenChecklist,
} from "../../../shared/bootstrap/playpen-check.ts";

// What `vor-power bootstrap --host` derives from a playpen's one reason code: each of the
// script's checks (passed up to the failure, not run after it), and the fix it prints.

const outcomes = (
  source: string | undefined,
  reason?: (typeof PLAYPEN_REASONS)[number],
  fsType?: string,
) =>
  playpenChecklist(source === undefined ? {} : { source }, {
    ...(reason === undefined ? {} : { reason }),
    ...(fsType === undefined ? {} : { fsType }),
  }).map((c) => `${c.check}:${c.outcome}`);

describe("playpenChecklist", () => {
  it("a passing playpen passed every check; a source left out is not configured", () => {
    expect(outcomes("fs-1:/")).toEqual(PLAYPEN_CHECKS.map((c) => `${c.check}:passed`));
    expect(outcomes(undefined)).toContain("source:not-configured");
  });

  it("the failing check is the reason's; the ones before passed, the ones after did not run", () => {
    expect(outcomes("fs-1:/", "read-only", "nfs4")).toEqual([
      "exists:passed",
      "mount point:passed",
      "fs type:passed",
      "source:passed",
      "read-write:failed",
      "run-as:not-run",
      "write probe:not-run",
      "marker:not-run",
    ]);
    expect(outcomes("fs-1:/", "missing")[0]).toBe("exists:failed");
  });

  it("a timeout is the existence check's before anything is mounted, else the probe's", () => {
    expect(outcomes(undefined, "timeout")[0]).toBe("exists:failed");
    expect(outcomes(undefined, "timeout", "nfs4")).toContain("write probe:failed");
  });

  it("every reason but timeout names exactly one check", () => {
    for (const reason of PLAYPEN_REASONS.filter((r) => r !== "timeout"))
      expect(
        outcomes("s", reason, "nfs4").filter((o) => o.endsWith(":failed")),
        reason,
      ).toHaveLength(1);
  });
});

describe("fixFor", () => {
  it("has a fix for every playpen reason, and for the access codes", () => {
    for (const reason of PLAYPEN_REASONS)
      expect(fixFor(`playpen:/data/playpen:${reason}`), reason).not.toContain("see the README");
    expect(fixFor("ssh:key-refused")).toContain("TrustedUserCAKeys");
    expect(fixFor("vault:secret-id")).toContain("secret id");
  });

  it("points to the README for a code it does not know", () => {
    expect(fixFor("consul:denied")).toContain("see the README");
  });
});
