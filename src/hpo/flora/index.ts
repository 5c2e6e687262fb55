// FLoRA, single-shot federated HPO: the surface math, apart from the strategy adapter
// (strategies/flora.ts) and the client task (client-tasks/flora-task.ts).
export { type ClientObservations, FLORA_SURFACES, type FloraSurfaceKind, fitSurface, LossModel, type LossSurface } from './surfaces.js';
