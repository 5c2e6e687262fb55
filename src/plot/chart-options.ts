// Plain option types of the plot layer, kept apart from the chart modules so that the report's
// public declarations do not pull in Vega's types (which need the DOM lib a Node consumer lacks).

export type ChartFormat = 'svg' | 'png';

/** How a landscape cell combines trials that differ in the other hyperparameters. */
export type Marginalize = 'best' | 'mean';
