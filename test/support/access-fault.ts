import { AccessFault } from "../../shared/bootstrap/host-channel.ts";

/**
 * The AccessFault a call rejects with; fails the test when it resolves or throws anything else.
 * Takes the call (a function) or its promise.
 */
export async function faultOf(
  call: (() => Promise<unknown>) | Promise<unknown>,
): Promise<AccessFault> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    if (error instanceof AccessFault) return error;
    throw error;
  }
  throw new Error("expected an AccessFault, and the call succeeded");
}
