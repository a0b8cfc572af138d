/**
 * Class metrics of generated samples under a classifier's p(y|x) (the MNIST classifier):
 * classes covered, the KL of the class histogram against the data's, and the classifier score
 * exp(E_x KL(p(y|x) ‖ p(y))), the Inception score's analogue (Salimans et al. 2016, §4).
 */

/** Pseudo-count added to every class of both histograms before classKl (Krichevsky–Trofimov, ½). */
export const CLASS_SMOOTHING = 0.5;

export interface ClassMetrics {
  /** Classes that are the most probable class of at least one sample. */
  classesCovered: number;
  /** KL(p_g(y) ‖ p_data(y)) of the two argmax histograms, each smoothed by CLASS_SMOOTHING per class. */
  classKl: number;
  /** exp(mean_x KL(p(y|x) ‖ p(y))), p(y) the mean of p(y|x) over the samples: 1 for a collapsed sample, C for confident, uniform ones. */
  classifierScore: number;
}

/** The most probable class of each row of probabilities [n, classes]. */
export function argmaxClasses(probabilities: ArrayLike<number>, classes: number): Int32Array {
  const n = probabilities.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[i * classes + c] > probabilities[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Counts of each class, smoothed by `smoothing` and normalized. */
export function classHistogram(labels: ArrayLike<number>, classes: number, smoothing = CLASS_SMOOTHING): Float64Array {
  const counts = new Float64Array(classes).fill(smoothing);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const total = labels.length + smoothing * classes;
  return counts.map((c) => c / total);
}

/** KL(p ‖ q) in nats; terms with p = 0 are 0. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += p[i] * Math.log(p[i] / q[i]);
  return kl;
}

/** exp(E_x KL(p(y|x) ‖ p(y))) over rows of probabilities [n, classes]. */
export function classifierScore(probabilities: ArrayLike<number>, classes: number): number {
  const n = probabilities.length / classes;
  const marginal = new Float64Array(classes);
  for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) marginal[c] += probabilities[i * classes + c] / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      const p = probabilities[i * classes + c];
      if (p > 0) sum += p * Math.log(p / marginal[c]);
    }
  }
  return Math.exp(sum / n);
}

/**
 * Class metrics of generated samples' probabilities [n, classes] against the classes of real
 * samples under the same classifier (`realClasses`, e.g. argmaxClasses of its probabilities).
 */
export function classMetrics(probabilities: ArrayLike<number>, classes: number, realClasses: ArrayLike<number>): ClassMetrics {
  const predicted = argmaxClasses(probabilities, classes);
  const seen = new Set(predicted);
  return {
    classesCovered: seen.size,
    classKl: klDivergence(classHistogram(predicted, classes), classHistogram(realClasses, classes)),
    classifierScore: classifierScore(probabilities, classes),
  };
}
