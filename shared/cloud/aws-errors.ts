// What an AWS SDK error says, read the same way by every AWS adapter (EC2, SSM, the console
// output): its name, message and fault side, and the names that mean "denied" and "throttled".

/** Error names AWS APIs use for a missing IAM permission. */
export const AWS_DENIED: ReadonlySet<string> = new Set([
  "UnauthorizedOperation",
  "AccessDenied",
  "AccessDeniedException",
]);

/** Error names AWS APIs use for throttling (still refused after the SDK's own retries). */
export const AWS_THROTTLED: ReadonlySet<string> = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "EC2ThrottledException",
  "TooManyRequestsException",
]);

export interface ErrorFacts {
  name: string;
  message: string;
  fault: "client" | "server" | undefined;
}

/** What an SDK (or network) error says, without trusting its type. */
export function factsOf(error: unknown): ErrorFacts {
  if (!(error instanceof Error))
    return { name: "Unknown", message: String(error), fault: undefined };
  const fault =
    "$fault" in error && (error.$fault === "client" || error.$fault === "server")
      ? error.$fault
      : undefined;
  return { name: error.name, message: error.message, fault };
}
