// Cost meters: tokens processed, MatMul FLOPs (from each graph's own shapes), wall time, peak RSS.
// Federation later meters bytes on the wire beside these.
import { matmulFlops } from './flops.js';
import type { ExportedModel } from './onnx.js';

export interface CostReport {
  tokens: number;
  flops: number;
  seconds: number;
  peakRssMb: number;
  runs: number;
}

export class CostMeter {
  private tokens = 0;
  private flops = 0;
  private runs = 0;
  private readonly started = performance.now();

  /** One graph run: `tokens` processed, symbolic dims bound for FLOP counting. */
  record(model: Pick<ExportedModel, 'matmuls'>, bindings: Record<string, number>, tokens: number): void {
    this.tokens += tokens;
    this.flops += matmulFlops(model, bindings);
    this.runs += 1;
  }

  report(): CostReport {
    return {
      tokens: this.tokens,
      flops: this.flops,
      seconds: (performance.now() - this.started) / 1000,
      // maxRSS is process-wide (KiB), so it includes the engine worker thread.
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      runs: this.runs,
    };
  }
}
