/** What a command may touch: its output streams and the clock, so tests can give their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The current instant; commands read it once, and only when the user gave none. */
  now(): Date;
  /** a transient status line (a progress bar), replaced by the next; absent in tests */
  progress?(text: string): void;
  /** whether stderr is a terminal (progress bars only there) */
  isTerminal?: boolean;
  /** the environment the live commands read (AWS_REGION, AWS_ENDPOINT_URL, secrets fromEnv) */
  env?: Readonly<Record<string, string | undefined>>;
}
