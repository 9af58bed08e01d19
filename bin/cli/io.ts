/** What a command may touch: its output streams and the clock, so tests can give their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The current instant; commands read it once, and only when the user gave none. */
  now(): Date;
}
