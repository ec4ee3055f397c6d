// tfjs prints a banner recommending tfjs-node (with its ==== rules and blank lines) and a note when it draws an
// orthogonal initializer on a large matrix; the benchmark scripts keep their tables readable without them.
'use strict';

const NOISE = /looks like you are running TensorFlow\.js in Node\.js|^=+$|Orthogonal initializer|^\s*$/;

function quietTfjs() {
  for (const level of ['log', 'warn']) {
    const print = console[level];
    console[level] = (...parts) => {
      if (!NOISE.test(String(parts[0]))) print(...parts);
    };
  }
}

module.exports = { quietTfjs };
