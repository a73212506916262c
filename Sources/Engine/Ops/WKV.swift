// RWKV's WKV recurrence over the token axis as one differentiable op, fused forward and backward
// (the op SpikeGPT's training graph is built on).

import Foundation

extension Variable {
    /// WKV over the token axis (SEEDS.md §1) for k, v [B, T, C], time_decay and time_first [C]:
    ///   w = −exp(time_decay);  a_0 = b_0 = 0;  a_{t+1} = e^w·a_t + e^{k_t}·v_t;  b_{t+1} = e^w·b_t + e^{k_t}
    ///   y_t = (a_t + e^{u+k_t}·v_t) / (b_t + e^{u+k_t})
    /// Backward, with D_t = b_t + e^{u+k_t}, g_t = dL/dy_t, ga/gb the gradients into a_t, b_t:
    ///   ga_t = g_t/D_t + e^w·ga_{t+1};   gb_t = −g_t·y_t/D_t + e^w·gb_{t+1}
    ///   dv_t = g_t·e^{u+k_t}/D_t + ga_{t+1}·e^{k_t}
    ///   dk_t = g_t·e^{u+k_t}(v_t − y_t)/D_t + (ga_{t+1}·v_t + gb_{t+1})·e^{k_t}
    ///   du = Σ_t g_t·e^{u+k_t}(v_t − y_t)/D_t;   dw = Σ_t e^w(ga_{t+1}·a_t + gb_{t+1}·b_t);  d(time_decay) = dw·w
    /// Computed in Double per channel, scaled by the running maximum exponent so e^k cannot overflow.
    public static func wkv(timeDecay: Variable, timeFirst: Variable, k: Variable, v: Variable) throws -> Variable {
        guard k.shape.count == 3, k.shape == v.shape else {
            throw EngineError.shapeMismatch(op: "wkv", lhs: k.shape, rhs: v.shape, hint: "k and v must both be [B, T, C]")
        }
        let B = k.shape[0], T = k.shape[1], C = k.shape[2]
        guard timeDecay.value.count == C, timeFirst.value.count == C else {
            throw EngineError.shapeMismatch(op: "wkv", lhs: timeDecay.shape, rhs: [C], hint: "time_decay/time_first must have C entries")
        }
        let ks = k.value.values, vs = v.value.values
        let td = timeDecay.value.values, tf = timeFirst.value.values
        var y = [Float](repeating: 0, count: ks.count)
        for b in 0..<B {
            for c in 0..<C {
                let w = -Double(expf(td[c])), u = Double(tf[c])
                // Running sums scaled by e^{−m}: A = a·e^{−m}, Bs = b·e^{−m}.
                var A = 0.0, Bs = 0.0, m = -1e300
                for t in 0..<T {
                    let i = (b * T + t) * C + c
                    let kk = Double(ks[i]), vv = Double(vs[i])
                    let mm = max(m, u + kk)
                    let e1 = exp(m - mm), e2 = exp(u + kk - mm)
                    y[i] = Float((A * e1 + e2 * vv) / (Bs * e1 + e2))
                    let m2 = max(m + w, kk)
                    let f1 = exp(m + w - m2), f2 = exp(kk - m2)
                    A = A * f1 + f2 * vv; Bs = Bs * f1 + f2; m = m2
                }
            }
        }
        let out = try Tensor(shape: k.shape, values: y)
        return Variable.make(out, parents: [timeDecay, timeFirst, k, v]) { g in
            let gy = g.values
            var dk = [Float](repeating: 0, count: ks.count), dv = dk
            var dtd = [Float](repeating: 0, count: C), dtf = dtd
            for b in 0..<B {
                for c in 0..<C {
                    let w = -Double(expf(td[c])), u = Double(tf[c]), ew = exp(w)
                    // Forward again in plain (unscaled) Double with a per-channel shift s = max k,
                    // which cancels in y: a, b, e^{u+k}, e^{k} all carry e^{−s}.
                    var shift = -1e300
                    for t in 0..<T { shift = max(shift, Double(ks[(b * T + t) * C + c])) }
                    var a = [Double](repeating: 0, count: T + 1), bb = a
                    for t in 0..<T {
                        let i = (b * T + t) * C + c
                        let ek = exp(Double(ks[i]) - shift)
                        a[t + 1] = ew * a[t] + ek * Double(vs[i])
                        bb[t + 1] = ew * bb[t] + ek
                    }
                    var ga = 0.0, gb = 0.0, du = 0.0, dw = 0.0
                    for t in stride(from: T - 1, through: 0, by: -1) {
                        let i = (b * T + t) * C + c
                        let kk = Double(ks[i]) - shift, vv = Double(vs[i])
                        let euk = exp(u + kk), ek = exp(kk)
                        let D = bb[t] + euk
                        let yt = (a[t] + euk * vv) / D
                        let gt = Double(gy[i])
                        // ga, gb hold the gradients into a_{t+1}, b_{t+1} here.
                        dv[i] = Float(gt * euk / D + ga * ek)
                        dk[i] = Float(gt * euk * (vv - yt) / D + (ga * vv + gb) * ek)
                        du += gt * euk * (vv - yt) / D
                        dw += ew * (ga * a[t] + gb * bb[t])
                        ga = gt / D + ew * ga
                        gb = -gt * yt / D + ew * gb
                    }
                    dtf[c] += Float(du)
                    dtd[c] += Float(dw * w)
                }
            }
            return [try Tensor(shape: timeDecay.shape, values: dtd), try Tensor(shape: timeFirst.shape, values: dtf),
                    try Tensor(shape: k.shape, values: dk), try Tensor(shape: v.shape, values: dv)]
        }
    }
}
