// The diagnosis rules' thresholds, each with the reason for its value. Every one can be overridden in a
// config's `monitor.thresholds`; docs/rules.md lists them with their sources.

import type { MonitorThresholds } from '../config/types';

export const DEFAULT_THRESHOLDS: Required<MonitorThresholds> = {
  /**
   * A norm counts as a spike when it exceeds this many times the median of its own recent history.
   * Pascanu et al. (2013) found clipping thresholds from half to ten times the average norm still converge,
   * so a gradient ten times its typical size is beyond what training tolerates without clipping.
   */
  explosionFactor: 10,
  /**
   * First-to-last layer gradient-norm ratio above which gradients are exploding (AUTOTRAINER, ICSE'21:
   * "gradient ratio > 70" after its parameter study).
   */
  explosionRatio: 70,
  /**
   * First-to-last layer gradient-norm ratio below which gradients are vanishing, together with a tiny
   * first-layer norm (AUTOTRAINER: ratio < 1e-3 and first-layer norm < 1e-4).
   */
  vanishingRatio: 1e-3,
  vanishingNorm: 1e-4,
  /** Mean |∂L/∂W| below this is effectively no learning signal (DeepDiagnosis, ICSE'22: 1e-7). */
  tinyGradient: 1e-7,
  /** Fraction of a ReLU layer's gradient that is exactly zero to call it dying (AUTOTRAINER: ≥ 70%). */
  deadReluFraction: 0.7,
  /**
   * Fraction of a sigmoid/tanh layer's pre-activations with |x| ≥ 5 to call it saturated (DeepDiagnosis:
   * > 50%). At |x| = 5, tanh' = 1.8e-4 and σ' = 6.6e-3: the gradient through the unit is nearly gone.
   */
  saturationFraction: 0.5,
  /**
   * Healthy band of ‖Δw‖/‖w‖ per step. Karpathy's rule of thumb is ~1e-3; DeepDiagnosis flags
   * outside [1e-5, 1e-1] (too slow to learn / too large, unstable).
   */
  updateRatioLow: 1e-5,
  updateRatioHigh: 1e-1,
  /** Steps of history the adaptive rules compare against (median and spread). */
  window: 50,
  /**
   * Consecutive monitored steps a condition must hold before it is reported, so one noisy batch does
   * not raise an alarm.
   */
  patience: 3,
};
