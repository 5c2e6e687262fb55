// The public entry point as a plug-in author meets it: the package is built (tsc -p
// tsconfig.build.json into a temp dir), installed into a consumer's node_modules as package.json +
// the built files only (nothing from src/), and a consumer written against `fedhpo` is compiled
// with the project's own tsc (strict, declarations checked) and run against the built index.js.
// A missing export or a wrong type fails the compile; a consumer with a deliberate type error
// must fail, which shows the declarations carry real types rather than `any`.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = join(ROOT, 'node_modules/.bin/tsc');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const run = (cmd: string, args: string[], cwd: string): Promise<Run> =>
  new Promise((done) =>
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    ),
  );

/** Uses the API the way a plug-in author would; every annotation below is checked against the declarations. */
const CONSUMER = `
import {
  ByteTokenizer, CostMeter, DataError, Engine, EVAL_DEFAULTS, LlamaModel, LocalTrainer, LoraAdapter, LORA_RECIPE, Rng,
  TASK_NAMES, UserError, encodeExample, evaluateRecords, finetune, evalTask, initWeights, isTaskName, loadTask,
  loraTarget, makeBatches, openModel, parseLlamaConfig, scoreOutput, taskClients, createOptimizer, iidSplit,
  type CostReport, type EvalReport, type FinetuneOptions, type LlamaConfig, type LoraConfig, type ModelSource,
  type RunOptions, type TaskRecord, type Tokenizer, type TrainerConfig, type TrainerHooks, type TrainResult,
  type OptimizerConfig, type Reference, type EvalTaskOptions, type LoadedModel,
  loadStudyData, lossScoreAgreement, writeReport, type RankCorrelation, type StudyData,
  adapterTarget, createAdapter, loraSettings, type Adapter, type PeftSettings,
} from 'fedhpo';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(_proof: Equal<A, B>): void => {};

// Signatures a plug-in relies on.
same<Parameters<LocalTrainer['run']>[3], RunOptions | undefined>(true);
same<ReturnType<LocalTrainer['run']>, Promise<TrainResult>>(true);
same<ReturnType<CostMeter['report']>, CostReport>(true);
same<Parameters<typeof evaluateRecords>, [LlamaModel, Tokenizer, TaskRecord[], import('fedhpo').EvalOptions?]>(true);
same<Awaited<ReturnType<typeof evaluateRecords>>, EvalReport>(true);
same<Awaited<ReturnType<typeof evalTask>>, EvalReport>(true);
same<FinetuneOptions['model'], ModelSource>(true);
same<EvalTaskOptions['model'], ModelSource>(true);
same<Parameters<typeof scoreOutput>[1], Reference>(true);
same<(typeof TASK_NAMES)[number], 'arith' | 'code' | 'instruct'>(true);
same<RunOptions['meter'], CostMeter | undefined>(true);
same<Parameters<typeof writeReport>[1], StudyData>(true);
same<Awaited<ReturnType<typeof loadStudyData>>, StudyData>(true);
same<ReturnType<typeof lossScoreAgreement>['kendall'], RankCorrelation>(true);
same<Awaited<ReturnType<typeof openModel>>['close'], () => Promise<void>>(true);
const recipe: Omit<FinetuneOptions, 'model' | 'data' | 'outDir'> = LORA_RECIPE;
const lora: LoraConfig = recipe.lora;
const adamw: OptimizerConfig = { kind: 'adamw', weightDecay: 0 };
const loaded = (m: LlamaModel, t: Tokenizer): LoadedModel & ModelSource => ({ model: m, tokenizer: t });
void [lora, loaded, finetune, evalTask, makeBatches, createOptimizer, iidSplit, taskClients, loadTask, EVAL_DEFAULTS.batchSize + 1];

// One real run: a tiny model, a LoRA adapter, two metered training steps in round 1.
const steps: number[] = [];
const hooks: TrainerHooks = { afterStep: (_ctx, s) => void steps.push(s.step) };
const engine = new Engine({ threads: 1 });
const cfg: LlamaConfig = parseLlamaConfig({ vocab_size: 260, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 });
const model = await LlamaModel.fromWeights(engine, cfg, initWeights(cfg, 0));
const tok: Tokenizer = new ByteTokenizer();
const data = ['two plus two is four', 'three and three make six'].map((t) => encodeExample(tok, { prompt: '', target: t, meta: {} }, 8));
const config: TrainerConfig = { steps: 2, batchSize: 2, seqLen: 8, lr: 1e-2, optimizer: adamw, seed: 0, padId: tok.padId };
const meter = new CostMeter();
const result: TrainResult = await new LocalTrainer(model, config, [hooks]).run(loraTarget(LoraAdapter.init(cfg, { ...lora, r: 2 }, 0)), data, [], {
  meter,
  rng: new Rng(0).fork(1),
});
const prefix: PeftSettings = { ...loraSettings({ ...lora, r: 2 }), method: 'prefix', numVirtualTokens: 2 };
const adapter: Adapter = createAdapter(cfg, prefix, 0);
const prefixRun: TrainResult = await new LocalTrainer(model, config).run(adapterTarget(adapter), data);
await engine.close();
console.log(JSON.stringify({
  prefixSteps: prefixRun.steps,
  status: result.status,
  steps,
  meteredRuns: meter.report().runs,
  tasks: TASK_NAMES.filter(isTaskName),
  dataErrorIsUserError: new DataError('x') instanceof UserError,
}));
`;

/** A plug-in author's strategy in TypeScript, checked by the exported conformance suite. */
const STRATEGY_CONSUMER = `
import { Rng, checkStrategyConformance, configKey, hasUntried, loadStrategy, parseSpace, sampleUntried, triedKeys, type ConformanceReport,
  type JsonValue, type RngState, type Strategy, type StrategyContext, type StrategyFactory, type StudyView, type Suggestion } from 'fedhpo';
import LocalSearch from './my-strategy.js';

const mine: StrategyFactory = (ctx: StrategyContext): Strategy => {
  let rng = new Rng(ctx.seed);
  return {
    name: 'typed-random',
    multiObjective: true,
    ask(study: StudyView, n: number): Suggestion[] {
      const taken = triedKeys(study, ctx.fidelity.max);
      const out: Suggestion[] = [];
      while (out.length < n) {
        const config = sampleUntried(study.space, rng, taken);
        if (!config) break;
        taken.add(configKey(study.space, config));
        out.push({ config, fidelity: ctx.fidelity.max });
      }
      return out;
    },
    tell() {},
    isDone: (study) => !hasUntried(study.space, triedKeys(study, ctx.fidelity.max)),
    state: (): JsonValue => ({ rng: rng.state() as unknown as JsonValue }),
    restore(state: JsonValue) {
      rng = Rng.fromState((state as { rng: unknown }).rng as RngState);
    },
  };
};
const reports: ConformanceReport[] = [await checkStrategyConformance(mine), await checkStrategyConformance(LocalSearch)];
const space = parseSpace({ 'train.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true } });
const loaded = await loadStrategy('./my-strategy.js', { space, objectives: [{ name: 'val_loss', direction: 'minimize' }], fidelity: { min: 1, max: 9 }, seed: 0, options: {} });
console.log(JSON.stringify({ reports: reports.map((r) => [r.strategy, r.failures.length]), loaded: loaded.name }));
`;

/** Compiles to the declarations only if they carry real types: a report's token count is no string. */
const WRONG = `
import { CostMeter } from 'fedhpo';
export const tokens: string = new CostMeter().report().tokens;
`;

let dir: string;
let consumer: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedhpo-public-api-'));
  const built = join(dir, 'build');
  const b = await run(TSC, ['-p', 'tsconfig.build.json', '--outDir', built, '--sourceMap', 'false'], ROOT);
  expect(b.code, b.stdout + b.stderr).toBe(0);

  // node_modules/fedhpo: the package.json and the built files, nothing else.
  consumer = join(dir, 'consumer');
  const pkg = join(consumer, 'node_modules', 'fedhpo');
  await mkdir(pkg, { recursive: true });
  await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  await cp(built, join(pkg, 'dist'), { recursive: true });
  // The package's own dependencies (onnxruntime-node, zod, @types/node, ...) as npm would install them.
  for (const name of await readdir(join(ROOT, 'node_modules')))
    if (!name.startsWith('.') && name !== 'fedhpo') await symlink(join(ROOT, 'node_modules', name), join(consumer, 'node_modules', name));

  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    outDir: 'out',
  };
  await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  await writeFile(
    join(consumer, 'tsconfig.wrong.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files: ['wrong.ts'] }),
  );
  await writeFile(join(consumer, 'consumer.ts'), CONSUMER);
  await writeFile(join(consumer, 'strategy.ts'), STRATEGY_CONSUMER);
  await cp(join(ROOT, 'examples', 'my-strategy.js'), join(consumer, 'my-strategy.js'));
  await writeFile(
    join(consumer, 'tsconfig.strategy.json'),
    JSON.stringify({ compilerOptions: { ...compilerOptions, allowJs: true, checkJs: false }, files: ['strategy.ts'] }),
  );
  await writeFile(join(consumer, 'wrong.ts'), WRONG);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the public entry point (fedhpo)', () => {
  it('package.json points main, types and exports at the built index', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      main: 'dist/index.js',
      types: 'dist/index.d.ts',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    });
  });

  it("compiles a plug-in author's consumer against the built declarations only, and runs it", async () => {
    const c = await run(TSC, ['-p', 'tsconfig.json'], consumer);
    expect(c.stdout + c.stderr, 'consumer compile').toBe('');
    expect(c.code).toBe(0);
    const r = await run(process.execPath, ['out/consumer.js'], consumer);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      prefixSteps: 2,
      status: 'completed',
      steps: [0, 1],
      meteredRuns: 2,
      tasks: ['arith', 'code', 'instruct'],
      dataErrorIsUserError: true,
    });
  });

  it("runs a plug-in author's strategy and examples/my-strategy.js through the exported conformance suite", async () => {
    const c = await run(TSC, ['-p', 'tsconfig.strategy.json'], consumer);
    expect(c.stdout + c.stderr, 'strategy compile').toBe('');
    const r = await run(process.execPath, ['out/strategy.js'], consumer);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      reports: [
        ['typed-random', 0],
        ['local-search', 0],
      ],
      loaded: 'local-search',
    });
  });

  it('rejects a consumer that misuses a type (the declarations are not `any`)', async () => {
    const w = await run(TSC, ['-p', 'tsconfig.wrong.json'], consumer);
    expect(w.code).not.toBe(0);
    expect(w.stdout).toMatch(/wrong\.ts\(3,14\): error TS2322: Type 'number' is not assignable to type 'string'/);
  });
});
