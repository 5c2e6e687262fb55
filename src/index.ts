// fedhpo's public entry point: what a plug-in author (a search strategy, an aggregator, a task, a
// training hook) imports as `fedhpo`. Everything here is stable API; deeper paths are not.

// Engine: sessions in a worker thread, tensors, seeded RNG streams, optimizers, schedules, costs.
export { Engine, EngineError, f32, i64, type EngineOptions, type Feeds, type HostData, type HostTensor } from './engine/engine.js';
export { UserError } from './engine/errors.js';
export { readRegularFile, readRegularText, type ReadLimits } from './engine/files.js';
export { Rng, type RngState } from './engine/rng.js';
export {
  AdamW,
  SgdMomentum,
  clipGradNorm,
  createOptimizer,
  gradsFinite,
  type AdamWOptions,
  type Optimizer,
  type OptimizerConfig,
  type OptimizerKind,
  type OptimizerState,
  type Params,
  type SgdOptions,
} from './engine/optim.js';
export { lrAt, type ScheduleConfig, type ScheduleKind } from './engine/schedule.js';
export { CostMeter, type CostReport } from './engine/costs.js';
export { matmulFlops } from './engine/flops.js';

// Data: formats, built-in tasks, splitters, batching, tokenizers.
export {
  DataError,
  describeSkipped,
  formatInstruction,
  loadExamples,
  parseExamples,
  toExample,
  type Example,
  type ParseResult,
  type Skipped,
} from './data/records.js';
export {
  SplitError,
  dirichletSplit,
  formatHistogram,
  histogram,
  iidSplit,
  metaSplit,
  type DirichletOptions,
  type DirichletSplit,
  type Histogram,
  type MetaSplit,
  type Split,
} from './data/splitters.js';
export {
  SPLITTERS,
  dataSplit,
  type DataSplitOptions,
  type DataSplitResult,
  type SplitSummary,
  type SplitterName,
} from './data/split-file.js';
export { IGNORE_INDEX, encodeExample, makeBatches, type Batch, type BatchOptions, type Encoded } from './data/batching.js';
export {
  TASKS,
  TASK_NAMES,
  getTask,
  isTaskName,
  loadTask,
  type CodeTest,
  type Reference,
  type TaskData,
  type TaskInfo,
  type TaskName,
  type TaskRecord,
  type TaskSplit,
} from './data/tasks/index.js';
export { taskClients } from './data/tasks/clients.js';
export { ByteTokenizer, type Tokenizer } from './data/tokenizer.js';
export { BpeTokenizer, TokenizerFormatError, trainBpe, type TrainBpeOptions } from './data/bpe/index.js';
export { loadModelTokenizer, loadTokenizer, saveTokenizer } from './data/tokenizer-io.js';
export { corpusFingerprint, pretrainCorpus, type CorpusFingerprint } from './data/pretrain-corpus.js';

// Model: the LLaMA decoder on the engine, its config and HF checkpoints.
export {
  LlamaModel,
  initWeights,
  lmBatch,
  loadCheckpoint,
  sampleToken,
  saveCheckpoint,
  type AdapterFeeds,
  type GenerateOptions,
  type Metered,
} from './model/model.js';
export {
  ConfigError,
  biasedProjections,
  expectedTensorShapes,
  llamaConfigToJson,
  loadLlamaConfig,
  parseLlamaConfig,
  type LlamaConfig,
  type ModelType,
} from './model/config.js';
export { CheckpointError, loadSafetensorsFile, saveSafetensorsFile, type WriteDType } from './model/safetensors.js';
export { PROJECTIONS, type DecoderHooks, type Projection } from './model/llama.js';
export type { AdapterGraph, AdapterGraphSpec, GraphMode, Trainable } from './model/graphs.js';
export {
  DEFAULT_THREADS,
  SHIPPED_BASE_MODEL,
  openModel,
  withModel,
  type LoadedModel,
  type ModelSource,
  type OpenedModel,
} from './model/source.js';

// PEFT: LoRA, prompt tuning, P-tuning and prefix tuning adapters in the PEFT layout.
export { PEFT_METHODS, PeftConfigError, type Adapter, type PeftMethod } from './peft/adapter.js';
export {
  createAdapter,
  initAdapter,
  loadAdapter,
  loraSettings,
  validatePeftSettings,
  type PeftSettings,
} from './peft/methods.js';
export { PromptTuningAdapter, type PromptTuningConfig } from './peft/prompt-tuning.js';
export { PTuningAdapter, type PTuningConfig } from './peft/p-tuning.js';
export { PrefixTuningAdapter, type PrefixTuningConfig } from './peft/prefix-tuning.js';
export { LoraAdapter, LoraConfigError, LoraGraphSpec, validateLoraConfig, type LoraConfig } from './peft/lora.js';

// Evaluation: validation loss, generation and the tasks' scores.
export {
  EVAL_DEFAULTS,
  answerStubOf,
  evaluateRecords,
  promptOf,
  type EvalOptions,
  type EvalReport,
  type SampleResult,
} from './eval/evaluate.js';
export { scoreOutput } from './eval/score.js';
export { extractAnswerNumber, scoreNumber } from './eval/extract.js';
export { exactMatch, firstAnswerSpan, normalizeAnswer, tokenF1 } from './eval/text-metrics.js';
export {
  closeSandboxPool,
  runCodeTests,
  runScriptTest,
  scoreCode,
  scoreScript,
  type CodeRunResult,
  type SandboxOptions,
} from './eval/sandbox.js';
export { evaluateTokenAccuracy } from './eval/token-accuracy.js';
export {
  FORMAT_METRIC,
  METRICS,
  USER_FORMATS,
  formatOf,
  metricFor,
  parseUserRecords,
  userRecord,
  type Metric,
  type MetricChoice,
  type UserFormat,
  type UserRecords,
} from './data/user-records.js';

// Federated learning building blocks: the local trainer and its hooks, fine-tuning, task evaluation.
export {
  LocalTrainer,
  TrainerError,
  adapterTarget,
  evaluate,
  fullTarget,
  loraTarget,
  runRng,
  type EvalInfo,
  type RunOptions,
  type StepInfo,
  type TrainContext,
  type TrainResult,
  type TrainTarget,
  type TrainerConfig,
  type TrainerHooks,
} from './fl/local-trainer.js';
export { finetune, type DataSource, type FinetuneOptions, type FinetuneSummary } from './fl/finetune.js';
export { evalTask, type EvalTaskOptions } from './fl/eval-task.js';
export { evalFile, evaluateUserRecords, loadEvalFile, type EvalFileOptions, type EvalFileReport } from './fl/eval-file.js';
export { LORA_RECIPE, SGD_MOMENTUM } from './fl/recipes.js';
export { packDocuments, pretrain, type PretrainSummary } from './fl/pretrain.js';
export { ConfigFileError, PretrainConfigSchema, loadPretrainConfig, type PretrainConfig } from './fl/pretrain-config.js';

// HPO: search spaces, the Strategy and Pruner plug-in interfaces, what a strategy builds on (sampling,
// Pareto ranking, successive-halving arithmetic), the conformance suite, and the built-in registry.
export type { JsonValue } from './engine/json.js';
export {
  SpaceError,
  checkConfig,
  configKey,
  fromUnit,
  inParam,
  paramValues,
  parseSpace,
  spaceSize,
  toUnit,
  type Config,
  type ParamSpec,
  type ParamValue,
  type SearchSpace,
} from './hpo/space.js';
export {
  minimizedValues,
  reachedRound,
  type FidelityRange,
  type Objective,
  type Pruner,
  type PrunerContext,
  type PrunerFactory,
  type Strategy,
  type StrategyContext,
  type StrategyFactory,
  type StudyView,
  type Suggestion,
  type TrialParent,
  type TrialRecord,
  type TrialStatus,
} from './hpo/strategy.js';
export { hasUntried, sampleConfig, sampleUntried, sampleValue, triedKeys } from './hpo/sampling.js';
export { dominates, nonDominatedFronts, paretoOrder } from './hpo/pareto.js';
export { hyperbandBrackets, promotionCount, rungFidelities, type BracketPlan } from './hpo/halving.js';
export {
  CONFORMANCE_SPACES,
  checkStrategyConformance,
  formatConformanceReport,
  type ConformanceCheck,
  type ConformanceFailure,
  type ConformanceOptions,
  type ConformanceReport,
} from './hpo/conformance.js';
export { STRATEGIES, loadStrategy, resolveStrategy, type BuiltinStrategy, type ResolvedStrategy } from './hpo/strategies/index.js';
// Strategies that ask clients for work (FTS, FLoRA): the capability, the registered client tasks.
export {
  type ClientTaskReply,
  type ClientTaskRequest,
  type ClientTaskRunner,
  type ClientTaskStrategy,
  usesClientTasks,
} from './hpo/client-task.js';
export {
  CLIENT_TASKS,
  type ClientTask,
  ClientTaskHost,
  type LocalObjective,
  SyntheticLocalObjective,
} from './hpo/client-tasks/index.js';
export { PRUNERS, loadPruner, type BuiltinPruner } from './hpo/pruners/index.js';
// Rank analysis, plots and the study report, over a plain StudyData (loadStudyData reads a study directory).
export {
  BYTES_SENT,
  SCORE,
  VAL_LOSS,
  metricByRound,
  metricValue,
  type RoundValue,
  type StudyData,
  type AnalyzedTrial,
} from './hpo/study-data.js';
export { loadStudyData, studyDataOf } from './hpo/study-journal.js';
export {
  averageRanks,
  kendallTauB,
  spearman,
  type PValueChoice,
  type PValueMethod,
  type RankCorrelation,
} from './hpo/rank-stats.js';
export {
  bestTrial,
  crossFidelityAgreement,
  crossFidelityRows,
  crossFidelityTable,
  lossScoreAgreement,
  lossScoreAgreementByRound,
  lossScoreAgreementRows,
  rankAgreement,
  rankTrials,
  topKOverlap,
  type AgreementOptions,
  type AgreementRow,
  type FidelityAgreement,
  type RankAgreement,
  type RankedTrial,
  type RoundAgreement,
  type TopKOverlap,
} from './hpo/ranking.js';
export { IMPORTANCE_METHOD, paramImportance, type ParamImportance } from './hpo/importance.js';
export { paretoFront } from './hpo/pareto.js';
export { syntheticStudy, type SyntheticStudyOptions } from './hpo/synthetic-study.js';
export type { ChartFormat, Marginalize } from './plot/chart-options.js';
// The chart builders (src/plot/*.ts) return Vega-Lite specs, whose types need the DOM lib: not exported here.
export { REPORT_FILE, writeReport, writeStudyReport, type ReportOptions, type WrittenReport } from './plot/report.js';

// Studies: configs, the TrialRunner a trial backend implements, the synthetic test objective, running one.
export { StudyConfigSchema, loadStudyConfig, parseStudyConfig, type StudyConfig } from './hpo/study-config.js';
export type {
  Metrics,
  RoundDecision,
  TrialOutcome,
  TrialOutcomeStatus,
  TrialRequest,
  TrialRunner,
} from './hpo/trial-runner.js';
export { SyntheticTrialRunner, SyntheticTrialSchema } from './hpo/synthetic-runner.js';
export { runStudy, type StudyRunOptions, type StudyRunOutcome } from './actors/study-runner.js';
export { trialRunnerFor } from './actors/trial-runner-for.js';
export { FederatedTrialRunner, type FederatedRunnerOptions } from './actors/federated-runner.js';
export { FEDERATED_KIND, federatedTrialConfig } from './actors/federated-trial-config.js';
export { readTrialCheckpoint, type TrialCheckpoint } from './actors/trial-checkpoint.js';
export {
  braninGrid,
  hartmann6Continuous,
  hartmann6Grid,
  gridConfigs,
  tabularSummary,
  type GridProblem,
  type SimulatedProblem,
  type TabularOptions,
  type TabularProblem,
  type TabularSummary,
} from './hpo/testfns.js';
export { normalizedRegret, runSimulated, runTabular, type TabularRunOptions, type TabularRunResult } from './hpo/tabular-run.js';
export { regretTable, type RegretRow } from './hpo/regret-table.js';
export { meanInterval, pLower, type MeanInterval } from './hpo/regret-stats.js';
// The tabular FedHPO benchmark: record a grid once, replay strategies against the table.
export {
  BenchRowSchema,
  BenchTableHeaderSchema,
  readBenchTable,
  type BenchRow,
  type BenchTable,
  type BenchTableHeader,
} from './hpo/bench-table.js';
export { logSpacedRounds, recordBenchTable, type RecordOptions, type RecordResult } from './hpo/bench-record.js';
export { BENCH_OBJECTIVES, benchProblem, type BenchObjective, type BenchProblemOptions } from './hpo/bench-problem.js';
export { replayBenchTable, type ReplayOptions, type ReplayResult } from './hpo/bench-replay.js';
export { benchExportTable } from './hpo/bench-export.js';
export { benchRound, benchStudyData, benchTableName, type BenchStudyOptions } from './hpo/bench-study.js';
export { type AnalysisSource, loadAnalysisSource } from './hpo/study-source.js';

// Federation: the run config, the clients' data, the server and client actors, trials in the
// reference paper's scenarios, the server state a trial continues from, and the distributed mode's
// pieces (a server for clients elsewhere, the long-lived client host, a client's own data files).
export {
  DataConfigSchema,
  FlConfigSchema,
  applyOverrides,
  dataName,
  loadFlConfig,
  parseFlConfig,
  type DataConfig,
  type FlConfig,
  type Scenario,
} from './fl/fl-config.js';
export { federatedData, federatedFiles, readUserFile, type FileTask } from './fl/client-files.js';
export {
  encodeClient,
  encodedClientData,
  exampleClientData,
  federatedTask,
  pooledClient,
  type ClientData,
  type ClientDataSource,
  type ClientRecords,
  type FederatedTask,
} from './fl/client-data.js';
export { loadClientFiles, type ClientFiles } from './fl/client-own-files.js';
export {
  inProcessConnector,
  runFederation,
  runFederationServer,
  type ConnectTransport,
  type FederationDeps,
  type FederationServerDeps,
  type FederationResult,
} from './actors/federation.js';
export { runTrial, type TrialDeps, type TrialReport } from './actors/trial.js';
export { FederationError, ServerActor, type ServerEvent, type ServerSettings } from './actors/server-actor.js';
export { ClientActor, type ClientActorOptions } from './actors/client-actor.js';
export { ClientHost, type ClientHostEnd, type ClientHostOptions } from './actors/client-host.js';
export { parseFederationState, type FederationState, type RoundRecord } from './actors/federation-state.js';
