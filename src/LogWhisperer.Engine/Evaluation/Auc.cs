namespace LogWhisperer.Evaluation;

/// <summary>
/// Area under the ROC curve of a score separating positives from negatives: the probability that a random
/// positive scores above a random negative (ties count half). 0.5 = no separation, 1 = perfect.
/// </summary>
internal static class Auc
{
    public static double Compute(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        if (positives.Count == 0 || negatives.Count == 0)
            return double.NaN;
        var all = positives
            .Select(v => (v, pos: true))
            .Concat(negatives.Select(v => (v, pos: false)))
            .OrderBy(x => x.v)
            .ToArray();
        double rankSum = 0;
        for (int i = 0; i < all.Length; )
        {
            int j = i;
            while (j < all.Length && all[j].v == all[i].v)
                j++;
            double midRank = (i + 1 + j) / 2.0; // ranks i+1..j share their mean
            for (int k = i; k < j; k++)
                if (all[k].pos)
                    rankSum += midRank;
            i = j;
        }
        double p = positives.Count,
            n = negatives.Count;
        return (rankSum - p * (p + 1) / 2) / (p * n);
    }
}
