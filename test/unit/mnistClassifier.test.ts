/**
 * The committed MNIST classifier (src/trainer/evaluation/mnist-classifier.bin): it classifies the
 * held-out built-in digits, and real-vs-real metrics on its features are near their ideal values
 * while a collapsed "generator" is told apart.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { selectBackend } from '../../src/trainer/backend';
import { argmaxClasses, classMetrics } from '../../src/trainer/evaluation/classes';
import { frechetDistance } from '../../src/trainer/evaluation/frechet';
import { manifoldMetrics } from '../../src/trainer/evaluation/manifold';
import { classifierFile, classifierSplit, MnistClassifier } from '../../src/trainer/evaluation/mnistClassifier';
import { mnistFromPackage } from '../../src/trainer/imageData';

let classifier: MnistClassifier;
let digits: { images: Uint8Array; labels: Uint8Array };

function pixels(indexes: number[]): Float32Array {
  const out = new Float32Array(indexes.length * 784);
  indexes.forEach((index, i) => {
    for (let j = 0; j < 784; j++) out[i * 784 + j] = digits.images[index * 784 + j] / 127.5 - 1;
  });
  return out;
}

before(async () => {
  await selectBackend('wasm');
  classifier = await MnistClassifier.load();
  digits = await mnistFromPackage();
});
after(() => classifier.dispose());

describe('MNIST classifier', () => {
  it('is small, and classifies the 1,000 held-out digits at 95% or better', (t) => {
    const size = statSync(classifierFile()).size;
    assert.ok(size < 300_000, `${size} bytes`);
    const { test } = classifierSplit(digits.labels.length);
    const predicted = argmaxClasses(classifier.classify(pixels(test)).probabilities, 10);
    const accuracy = test.filter((index, i) => predicted[i] === digits.labels[index]).length / test.length;
    t.diagnostic(`held-out accuracy ${(100 * accuracy).toFixed(2)}%, weights ${size} bytes`);
    assert.ok(accuracy >= 0.95, `accuracy ${accuracy}`);
  });
  it('real vs real: precision, recall, coverage high, density near 1, FD small; a collapsed set is told apart', (t) => {
    const { train, test } = classifierSplit(digits.labels.length);
    const a = classifier.classify(pixels(test));
    const b = classifier.classify(pixels(train.slice(0, 1000)));
    const m = manifoldMetrics(a.features, b.features, classifier.features);
    assert.ok(m.precision > 0.75 && m.recall > 0.75 && m.coverage > 0.85, JSON.stringify(m));
    assert.ok(m.density > 0.8 && m.density < 1.25, JSON.stringify(m));
    const realFd = frechetDistance(a.features, b.features, classifier.features);
    const classes = classMetrics(b.probabilities, 10, argmaxClasses(a.probabilities, 10));
    assert.equal(classes.classesCovered, 10);
    assert.ok(classes.classKl < 0.02, `class KL ${classes.classKl}`);
    assert.ok(classes.classifierScore > 8, `score ${classes.classifierScore}`);
    // "Generated" digits that are all ones.
    const ones = train.filter((index) => digits.labels[index] === 1).slice(0, 500);
    const collapsed = classifier.classify(pixels(ones));
    const collapsedFd = frechetDistance(a.features, collapsed.features, classifier.features);
    t.diagnostic(`real vs real ${JSON.stringify(m)}, FD ${realFd.toFixed(3)}, ${JSON.stringify(classes)}; real vs ones: FD ${collapsedFd.toFixed(3)}`);
    assert.ok(collapsedFd > 10 * realFd, `FD real ${realFd}, collapsed ${collapsedFd}`);
    const c = manifoldMetrics(a.features, collapsed.features, classifier.features);
    assert.ok(c.recall < 0.3 && c.coverage < 0.3, JSON.stringify(c));
    const collapsedClasses = classMetrics(collapsed.probabilities, 10, argmaxClasses(a.probabilities, 10));
    assert.ok(collapsedClasses.classifierScore < 1.5 && collapsedClasses.classKl > 1.5, JSON.stringify(collapsedClasses));
  });
});
