// What an operator does about a bootstrap failure code, one line each, for `vor-power bootstrap
// --host` (README "Host access: Vault and SSH" and "Playpen checks and readiness" say more).

const PLAYPEN_FIXES: Readonly<Record<string, string>> = {
  missing: "create the mount point in the host image (still booting within bootGrace)",
  "not-mounted": "mount the playpen at boot (an fstab line with _netdev, the unit's order)",
  "fs-type": "mount the shared file system there, or add its type to fsTypes",
  source: "the fstab line's source, or the playpen's source in the config",
  "read-only": "mount the playpen rw",
  "run-as": "create the runAs user, or give the bootstrap user a sudo rule to become it",
  write: "the playpen's ownership and mode: runAs must create and remove files in it",
  marker:
    "mount the midtier's file system (not a look-alike) and have the midtier write the marker",
  timeout: "the file system hangs: the NFS server, the network path",
};

const FIXES: Readonly<Record<string, string>> = {
  "host:not-running": "start the host (vor-power start), or wait for it to run",
  "channel:none": "configure bootstrap.vault and bootstrap.ssh, or put the pool on channel: ssm",
  "ssh:unreachable":
    "the address (bootstrap.ssh.address), the security group, sshd; still booting within bootGrace",
  "ssh:timeout": "the security group, sshd, the network path; still booting within bootGrace",
  "ssh:host-keys-pending": "cloud-init's emit_keys_to_console; still booting within bootGrace",
  "ssh:key-refused":
    "sshd's TrustedUserCAKeys, the login user (locked or missing), sign.principals must name ssh.user",
  "ssh:host-key-unknown": "sshd's HostCertificate (mode ca)",
  "ssh:host-cert-invalid":
    "sign the host key with the host CA, naming the address dialled; renew it if expired",
  "ssh:host-key-mismatch": "the host was re-keyed since its first boot (mode pinned)",
  "vault:sealed": "unseal Vault",
  "vault:unreachable": "bootstrap.vault.address, the network path to Vault",
  "vault:timeout": "Vault's health, the network path to Vault",
  "vault:denied": "the AppRole's policy must grant update on the signing path; the namespace",
  "vault:secret-id": "put a new AppRole secret id where bootstrap.vault.approle.secretId points",
  "access:command-failed": "the bootstrap user's shell on the host",
  "playpen:check-failed": "the host's sh and tools (awk, sed, tr, id, uname, cat, rm)",
  "ssm:not-registered": "the SSM agent and its instance profile; still booting within bootGrace",
};

/** The fix for a failure code; the README's tables for anything not listed. */
export function fixFor(code: string): string {
  const known = FIXES[code];
  if (known !== undefined) return known;
  const playpen = /^playpen:.*:([a-z-]+)$/.exec(code);
  const reason = playpen?.[1];
  if (reason !== undefined && PLAYPEN_FIXES[reason] !== undefined) return PLAYPEN_FIXES[reason];
  return "see the README's failure codes (Host access: Vault and SSH; Playpen checks and readiness)";
}
