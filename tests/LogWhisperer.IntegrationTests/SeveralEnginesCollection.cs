namespace LogWhisperer.Tests;

/// <summary>
/// Tests that run several engines at once (child processes included): run one after another, not beside each
/// other, so that on a small machine none of them starves the others' group joins and session timeouts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SeveralEnginesCollection
{
    public const string Name = "several engines";
}
