/** Types of math-imports.js (plain JavaScript for the pool threads). */
export declare const MATH_IMPORTS: {
  readonly [name in "exp" | "log" | "log1p" | "expm1" | "sin" | "cos" | "tan" | "tanh" | "atan2" | "pow" | "fmod" | "toInt32"]: (...args: number[]) => number;
};
