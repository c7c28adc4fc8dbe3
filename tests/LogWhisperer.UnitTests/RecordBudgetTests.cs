using LogWhisperer.Pipeline;

namespace LogWhisperer.Tests;

public class RecordBudgetTests
{
    [Fact]
    public async Task TheSourceWaitsUntilTheWindowStageHasTakenInEnoughRecords()
    {
        var budget = new RecordBudget(1_000);
        await budget.AcquireAsync(600, default);
        await budget.AcquireAsync(400, default);
        var third = budget.AcquireAsync(100, default).AsTask();
        Assert.False(third.IsCompleted); // 1,100 would exceed the budget
        budget.Release(50);
        Assert.False(third.IsCompleted); // 1,050: still too many
        budget.Release(100);
        await third.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(950, budget.Held);
    }

    [Fact]
    public async Task ABatchLargerThanTheBudgetPassesAlone()
    {
        var budget = new RecordBudget(10);
        await budget.AcquireAsync(50, default);
        var next = budget.AcquireAsync(1, default).AsTask();
        Assert.False(next.IsCompleted);
        budget.Release(50);
        await next.WaitAsync(TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource();
        var waiting = budget.AcquireAsync(10, cancel.Token).AsTask();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
