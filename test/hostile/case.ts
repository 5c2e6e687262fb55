/** One bad-input case: a name, the CLI arguments, and the texts its one stderr line must contain. */
export type HostileCase = [name: string, args: string[], needles: string[]];
