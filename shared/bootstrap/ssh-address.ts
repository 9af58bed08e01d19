import { AccessFault, type HostTarget } from "./host-channel.ts";

// Where to dial a host (config `bootstrap.ssh.address`): its private or public address at the
// configured port, or a tag holding "host:port". Tests use the tag to reach loopback, so they never
// dial the private addresses moto reports.

export interface SshEndpoint {
  host: string;
  port: number;
}

export interface AddressConfig {
  /** privateIp, publicIp, or tag:<key> */
  address: string;
  port: number;
}

/** "10.0.0.5:2222", "[fd00::5]:22", or a bare host (then `defaultPort`); undefined when malformed. */
export function parseHostPort(value: string, defaultPort: number): SshEndpoint | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2];
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (host === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/**
 * The endpoint to dial for `target`.
 * @throws AccessFault `ssh:unreachable` when the host has no such address yet (a host that is
 * still starting may lack one) or its tag does not hold host:port
 */
export function resolveEndpoint(target: HostTarget, config: AddressConfig): SshEndpoint {
  const unreachable = (why: string) =>
    new AccessFault("ssh:unreachable", `no SSH address for host ${target.id}: ${why}`);
  if (config.address === "privateIp" || config.address === "publicIp") {
    const address = config.address === "privateIp" ? target.privateAddress : target.publicAddress;
    if (!address) throw unreachable(`it has no ${config.address} (yet)`);
    return { host: address, port: config.port };
  }
  const key = config.address.slice("tag:".length);
  const value = target.tags[key];
  if (value === undefined) throw unreachable(`it has no tag ${JSON.stringify(key)}`);
  const endpoint = parseHostPort(value, config.port);
  if (!endpoint)
    throw unreachable(
      `its tag ${JSON.stringify(key)} holds ${JSON.stringify(value)}, not host:port`,
    );
  return endpoint;
}
