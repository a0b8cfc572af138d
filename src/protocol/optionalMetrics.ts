/**
 * The optional fields of MetricsRecord (written only by some costs; see runDirectory.ts), in one
 * table that every reader of metrics.jsonl follows: the monitor's cards, the compare tab's metric
 * chooser, the TensorBoard export and the CLI summary. A new optional metric is one row here.
 */
import type { MetricsRecord } from './runDirectory';

/** The monitor's card a metric is drawn on (each card's title and subtitle live in the monitor). */
export type MetricCard = 'critic' | 'gradient' | 'quality' | 'divergence' | 'controls';

/** A chart colour, as VS Code's `--vscode-charts-*` theme colours name them. */
export type ChartColor = 'red' | 'blue' | 'green' | 'orange' | 'purple' | 'yellow';

export interface OptionalMetric {
  key: keyof MetricsRecord;
  /** Long name: the compare tab's chooser, the CLI. */
  label: string;
  /** Short name: a chart legend. */
  legend: string;
  /** TensorBoard scalar tag. */
  tag: string;
  card: MetricCard;
  /**
   * The y axis of its card: metrics of one axis are on one scale (a distance and a penalty are
   * comparable; a raw critic score has an arbitrary offset and goes on its own axis).
   */
  axis: 'left' | 'right';
  color: ChartColor;
  /** Dashed line (a secondary quantity of its card). */
  dashed?: boolean;
  /** Significant digits shown. */
  digits: number;
}

export const OPTIONAL_METRICS = [
  {
    key: 'wassersteinEstimate',
    label: 'Wasserstein estimate E[D(x)] − E[D(G(z))]',
    legend: 'W estimate',
    tag: 'critic/wasserstein_estimate',
    card: 'critic',
    axis: 'left',
    color: 'purple',
    digits: 4,
  },
  {
    key: 'gradientPenalty',
    label: 'gradient penalty λ·E[(‖∇D(x̂)‖₂ − 1)²]',
    legend: 'penalty',
    tag: 'critic/gradient_penalty',
    card: 'critic',
    axis: 'left',
    color: 'red',
    digits: 4,
  },
  {
    key: 'criticReal',
    label: 'mean raw D(x) (critic score)',
    legend: 'raw D(x)',
    tag: 'critic/real_score_mean',
    card: 'critic',
    axis: 'right',
    color: 'green',
    dashed: true,
    digits: 4,
  },
  {
    key: 'criticFake',
    label: 'mean raw D(G(z)) (critic score)',
    legend: 'raw D(G(z))',
    tag: 'critic/fake_score_mean',
    card: 'critic',
    axis: 'right',
    color: 'orange',
    dashed: true,
    digits: 4,
  },
  {
    key: 'featureMatching',
    label: 'feature matching ‖E f(x) − E f(G(z))‖₂²',
    legend: 'feature matching',
    tag: 'generator/feature_matching',
    card: 'critic',
    axis: 'left',
    color: 'blue',
    digits: 4,
  },
  {
    key: 'spectralNorm',
    label: 'largest σ(W) of D before spectral normalization',
    legend: 'max σ(W)',
    tag: 'critic/spectral_norm_max',
    card: 'critic',
    axis: 'right',
    color: 'yellow',
    dashed: true,
    digits: 4,
  },
  {
    key: 'generatorGradientNorm',
    label: "G's gradient norm ‖∇θg J(G)‖₂",
    legend: '‖∇J(G)‖',
    tag: 'generator/gradient_norm',
    card: 'gradient',
    axis: 'left',
    color: 'blue',
    digits: 4,
  },
  {
    key: 'modesCovered',
    label: 'modes covered (PacGAN protocol)',
    legend: 'modes',
    tag: 'evaluation/modes_covered',
    card: 'quality',
    axis: 'right',
    color: 'purple',
    dashed: true,
    digits: 3,
  },
  {
    key: 'highQuality',
    label: 'high-quality samples (within 3σ of a mode)',
    legend: 'high quality',
    tag: 'evaluation/high_quality',
    card: 'quality',
    axis: 'left',
    color: 'green',
    digits: 3,
  },
  {
    key: 'classesCovered',
    label: 'classes covered (MNIST classifier)',
    legend: 'classes',
    tag: 'evaluation/classes_covered',
    card: 'quality',
    axis: 'right',
    color: 'purple',
    dashed: true,
    digits: 3,
  },
  {
    key: 'precision',
    label: 'precision, k = 3 (Kynkäänniemi et al. 2019)',
    legend: 'precision',
    tag: 'evaluation/precision',
    card: 'quality',
    axis: 'left',
    color: 'blue',
    digits: 3,
  },
  {
    key: 'recall',
    label: 'recall, k = 3',
    legend: 'recall',
    tag: 'evaluation/recall',
    card: 'quality',
    axis: 'left',
    color: 'orange',
    digits: 3,
  },
  {
    key: 'density',
    label: 'density, k = 5 (Naeem et al. 2020)',
    legend: 'density',
    tag: 'evaluation/density',
    card: 'quality',
    axis: 'left',
    color: 'yellow',
    dashed: true,
    digits: 3,
  },
  {
    key: 'coverage',
    label: 'coverage, k = 5',
    legend: 'coverage',
    tag: 'evaluation/coverage',
    card: 'quality',
    axis: 'left',
    color: 'red',
    dashed: true,
    digits: 3,
  },
  {
    key: 'testAccuracy',
    label: 'test accuracy of D as a classifier (semi-supervised)',
    legend: 'test accuracy',
    tag: 'evaluation/test_accuracy',
    card: 'quality',
    axis: 'left',
    color: 'purple',
    digits: 4,
  },
  {
    key: 'modeReverseKl',
    label: 'reverse KL of the mode histogram',
    legend: 'mode KL',
    tag: 'evaluation/mode_reverse_kl',
    card: 'divergence',
    axis: 'left',
    color: 'purple',
    digits: 4,
  },
  {
    key: 'gridKl',
    label: 'grid KL(p_data ‖ p_g)',
    legend: 'grid KL',
    tag: 'evaluation/grid_kl',
    card: 'divergence',
    axis: 'left',
    color: 'red',
    digits: 4,
  },
  {
    key: 'gridJs',
    label: 'grid Jensen–Shannon divergence',
    legend: 'grid JS',
    tag: 'evaluation/grid_js',
    card: 'divergence',
    axis: 'left',
    color: 'blue',
    digits: 4,
  },
  {
    key: 'classKl',
    label: 'class-histogram KL (MNIST classifier)',
    legend: 'class KL',
    tag: 'evaluation/class_kl',
    card: 'divergence',
    axis: 'left',
    color: 'orange',
    digits: 4,
  },
  {
    key: 'classifierScore',
    label: 'classifier score exp(E KL(p(y|x) ‖ p(y)))',
    legend: 'score',
    tag: 'evaluation/classifier_score',
    card: 'divergence',
    axis: 'right',
    color: 'green',
    dashed: true,
    digits: 4,
  },
  {
    key: 'frechetDistance',
    label: 'Fréchet distance on the evaluation features',
    legend: 'FD',
    tag: 'evaluation/frechet_distance',
    card: 'divergence',
    axis: 'right',
    color: 'yellow',
    dashed: true,
    digits: 4,
  },
  {
    key: 'generatorLearningRate',
    label: "G's learning rate",
    legend: 'lr G',
    tag: 'controls/generator_learning_rate',
    card: 'controls',
    axis: 'left',
    color: 'green',
    digits: 4,
  },
  {
    key: 'discriminatorLearningRate',
    label: "D's learning rate",
    legend: 'lr D',
    tag: 'controls/discriminator_learning_rate',
    card: 'controls',
    axis: 'left',
    color: 'blue',
    digits: 4,
  },
  {
    key: 'dStepsPerGStep',
    label: 'k, D updates per G update',
    legend: 'k',
    tag: 'controls/d_steps_per_g_step',
    card: 'controls',
    axis: 'right',
    color: 'orange',
    dashed: true,
    digits: 3,
  },
] as const satisfies readonly OptionalMetric[];

/** A row of the table, with its literal key. */
export type OptionalMetricRow = (typeof OPTIONAL_METRICS)[number];
export type OptionalMetricKey = OptionalMetricRow['key'];

/** The value of an optional metric in a record, when it is a finite number (JSON writes NaN as null). */
export function optionalValue(record: MetricsRecord, key: OptionalMetricKey): number | null {
  const value: unknown = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The optional metrics that at least one of the records carries, in table order. */
export function presentMetrics(records: Iterable<MetricsRecord>): OptionalMetricRow[] {
  const present = new Set<OptionalMetricKey>();
  for (const record of records) for (const metric of OPTIONAL_METRICS) if (optionalValue(record, metric.key) !== null) present.add(metric.key);
  return OPTIONAL_METRICS.filter((metric) => present.has(metric.key));
}
