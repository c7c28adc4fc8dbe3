using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>
/// Adam, and AdamW (decoupled weight decay), computed as TorchSharp's <c>optim.Adam</c> / <c>optim.AdamW</c> do,
/// op for op and with their defaults (β₂ 0.999), so training gives the same weights bit for bit — but with every
/// scalar owned for the whole step. TorchSharp 0.107's optimizers pass temporary Scalars (implicit conversions
/// from double) to native calls without keeping them alive: a GC started by another thread can finalise one
/// mid-call, and libtorch fails with "Unknown scalar type" (seen in CI, in Adam.step under LogBertTests; the
/// same hazard <see cref="GroupOps"/> avoids for the model's own operations).
/// </summary>
internal sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg,
        _expAvgSq;
    private readonly double _lr,
        _beta1,
        _beta2,
        _weightDecayValue;
    private readonly bool _decoupledWeightDecay;
    private readonly Scalar _beta1Scalar,
        _beta2Scalar,
        _oneMinusBeta1,
        _oneMinusBeta2,
        _eps,
        _weightDecay,
        _decay;
    private long _step;

    private AdamOptimizer(
        IEnumerable<Parameter> parameters,
        double lr,
        double weightDecay,
        bool decoupled,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-8
    )
    {
        _parameters = parameters.ToArray();
        _expAvg = _parameters.Select(p => zeros_like(p)).ToArray();
        _expAvgSq = _parameters.Select(p => zeros_like(p)).ToArray();
        (_lr, _beta1, _beta2, _weightDecayValue, _decoupledWeightDecay) = (lr, beta1, beta2, weightDecay, decoupled);
        _beta1Scalar = beta1.ToScalar();
        _beta2Scalar = beta2.ToScalar();
        _oneMinusBeta1 = (1 - beta1).ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _eps = eps.ToScalar();
        _weightDecay = weightDecay.ToScalar();
        _decay = (1 - lr * weightDecay).ToScalar();
    }

    /// <summary>As <c>optim.Adam(parameters, lr)</c>: weight decay, if any, as an L2 term of the gradient.</summary>
    public static AdamOptimizer Adam(IEnumerable<Parameter> parameters, double lr, double weightDecay = 0) =>
        new(parameters, lr, weightDecay, decoupled: false);

    /// <summary>As <c>optim.AdamW(parameters, lr, weight_decay: …)</c>: the weights decay apart from the
    /// gradient.</summary>
    public static AdamOptimizer AdamW(IEnumerable<Parameter> parameters, double lr, double weightDecay) =>
        new(parameters, lr, weightDecay, decoupled: true);

    public void zero_grad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    public void step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope(); // the step's temporaries (denominators, decayed gradients)
        _step++;
        double biasCorrection1 = 1 - Math.Pow(_beta1, _step),
            biasCorrection2 = 1 - Math.Pow(_beta2, _step);
        using var sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        using var stepSize = (-(_lr / biasCorrection1)).ToScalar();
        for (int i = 0; i < _parameters.Length; i++)
        {
            var param = _parameters[i];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (_decoupledWeightDecay)
                param.mul_(_decay);
            else if (_weightDecayValue != 0)
                grad = grad.add(param, _weightDecay);
            _expAvg[i].mul_(_beta1Scalar).add_(grad, _oneMinusBeta1);
            _expAvgSq[i].mul_(_beta2Scalar).addcmul_(grad, grad, _oneMinusBeta2);
            // add_ with its alpha given: TorchSharp's one-argument add_(Scalar) passes a temporary alpha of 1 that a GC
            // can finalise mid-call (CI under stress-ng: "toFloat" in add__Scalar, here).
            var denominator = _expAvgSq[i].sqrt().div(sqrtBiasCorrection2).add_(_eps, GroupOps.One);
            param.addcdiv_(_expAvg[i], denominator, stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg.Concat(_expAvgSq))
            t.Dispose();
        foreach (
            var s in new[] { _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _eps, _weightDecay, _decay }
        )
            s.Dispose();
    }
}
