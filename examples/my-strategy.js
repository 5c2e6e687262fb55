// examples/my-strategy.js: a worked user strategy for fedhpo, in plain JavaScript.
//
// Local search. The first `startup` trials (option, default 5) are random; after that each suggestion
// perturbs the best complete trial so far: numeric dims move by a Gaussian step in the unit cube (log
// dims in log space, so a learning rate moves by factors), categorical dims switch with probability
// 0.2. The step shrinks as the study grows. Every trial runs at the study's full fidelity.
//
// Run it:   fedhpo study run configs/quickstart.yaml --strategy ./examples/my-strategy.js
// List it:  a module path works wherever a built-in name does (`fedhpo strategies` lists those).
// Test it:  import { checkStrategyConformance, formatConformanceReport } from 'fedhpo';
//           import localSearch from './my-strategy.js';
//           console.log(formatConformanceReport(await checkStrategyConformance(localSearch)));
//
// The contract (the Strategy type in fedhpo): ask(study, n) returns up to n suggestions
// { config, fidelity } inside study.space; tell(trial, study) reports a trial that ended (complete,
// failed, diverged or pruned); isDone(study) says nothing more will come; state() and restore() carry
// everything the strategy keeps, as plain JSON, so a resumed study asks exactly what the uninterrupted
// one would have. The default export is a class taking the context (or a function ctx => strategy).
import { Rng, configKey, fromUnit, hasUntried, minimizedValues, sampleUntried, toUnit, triedKeys } from 'fedhpo';

export default class LocalSearch {
  name = 'local-search';
  multiObjective = false; // it ranks by the first objective: fedhpo refuses it for multi-objective studies

  constructor(ctx) {
    this.ctx = ctx;
    this.startup = ctx.options.startup ?? 5;
    this.rng = new Rng(ctx.seed); // all randomness from the seed: same seed, same study
  }

  ask(study, n) {
    const fidelity = this.ctx.fidelity.max;
    const taken = triedKeys(study, fidelity); // never run a config twice
    const best = this.best(study);
    const step = 0.25 / Math.sqrt(1 + study.trials.length / 10);
    const out = [];
    while (out.length < n) {
      let config = best && study.trials.length + out.length >= this.startup ? this.perturb(best.config, step) : undefined;
      if (!config || taken.has(configKey(study.space, config))) config = sampleUntried(study.space, this.rng, taken);
      if (!config) break; // a finite space is used up
      taken.add(configKey(study.space, config));
      out.push({ config, fidelity });
    }
    return out;
  }

  best(study) {
    let best;
    for (const t of study.trials) {
      const loss = t.status === 'complete' ? minimizedValues(study.objectives, t)?.[0] : undefined;
      if (Number.isFinite(loss) && (!best || loss < best.loss)) best = { config: t.config, loss };
    }
    return best;
  }

  perturb(config, step) {
    const out = {};
    for (const [name, p] of this.ctx.space) {
      if (p.type === 'categorical') out[name] = this.rng.next() < 0.2 ? p.choices[this.rng.int(p.choices.length)] : config[name];
      else out[name] = fromUnit(p, toUnit(p, config[name]) + step * this.rng.normal());
    }
    return out;
  }

  tell() {} // everything it needs is in the study view

  isDone(study) {
    return !hasUntried(study.space, triedKeys(study, this.ctx.fidelity.max));
  }

  state() {
    return { rng: this.rng.state() };
  }

  restore(state) {
    this.rng = Rng.fromState(state.rng);
  }
}
