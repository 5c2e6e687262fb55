// The prompt a task record gives the model: its verbatim prompt, else the instruction template.
import { formatInstruction } from '../records.js';
import type { TaskRecord } from './types.js';

export function promptOf(r: TaskRecord): string {
  return r.prompt ?? formatInstruction(r.instruction, r.input);
}
