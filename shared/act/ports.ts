import type { BootstrapStep } from "../bootstrap/bootstrap-step.ts";
import type { ComputeProvider } from "../cloud/compute-provider.ts";
import type { SignalSource } from "../signals/signal-source.ts";
import type { StateStore } from "../state/state-store.ts";

/** The Registry port (Consul): where the midtier reads ready hosts when Consul is configured. */
export interface Registry {
  set(host: string, action: "register" | "maintenance" | "deregister"): Promise<void>;
}

/** The Alerter port (SNS, later Azure): one message per alert key and episode. */
export interface Alerter {
  send(key: string, message: string): Promise<void>;
}

/** Everything observe and act touch, built once by the wiring module (or the simulator). */
export interface Ports {
  compute: ComputeProvider;
  signals: SignalSource;
  store: StateStore;
  bootstrap: BootstrapStep;
  registry?: Registry;
  alerter: Alerter;
}
