namespace LogWhisperer.Cli.Configuration;

/// <summary>Marks a setting whose value must never be printed or logged.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SecretAttribute : Attribute;
