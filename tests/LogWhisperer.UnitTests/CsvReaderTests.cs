using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

public class CsvReaderTests
{
    [Fact]
    public void QuotedFieldsEscapedQuotesAndEmbeddedNewlinesAreRead()
    {
        var path = Path.Combine(TestData.TempDir(), "x.csv");
        File.WriteAllText(path, "a,b,c\r\n1,\"he said \"\"hi\"\"\",\"two\nlines\"\n2,,x\n3,4\n");
        var rows = CsvReader.ReadRecords(path).ToList();
        Assert.Equal("he said \"hi\"", rows[0].Fields!["b"]);
        Assert.Equal("two\nlines", rows[0].Fields!["c"]);
        Assert.Equal("", rows[1].Fields!["b"]);
        Assert.Null(rows[2].Fields); // malformed: reported, not thrown
        Assert.Contains("2 fields", rows[2].Error);
        Assert.Equal(4, rows[2].Number); // rows are numbered from the header (1), for the dead-letter reason
        Assert.Equal(["3", "4"], rows[2].Raw);
    }

    [Fact]
    public void AStrayQuoteCostsOnlyItsOwnLine()
    {
        // Two log lines fused by the exporter (Nezha has such a row): a closed quoted field, then more text with
        // an unpaired quote. A reader that honours every quote would swallow the rows after it.
        var path = Path.Combine(TestData.TempDir(), "fused.csv");
        File.WriteAllText(
            path,
            "ts,service,message\n1,a,ok\n2,b,\"{\"\"log\"\":\"\"x\"\"}\"tail\":y\n3,c,fine\n4,d,\"quoted, "
                + "with comma\"\n"
        );
        var rows = CsvReader.ReadRecords(path).ToList();
        Assert.Equal([2, 3, 4, 5], rows.Select(r => r.Number));
        Assert.Equal("fine", rows[2].Fields!["message"]);
        Assert.Equal("quoted, with comma", rows[3].Fields!["message"]);
    }

    [Fact]
    public void AByteOrderMarkAndBlankLinesAreNotData()
    {
        var path = Path.Combine(TestData.TempDir(), "bom.csv");
        File.WriteAllText(
            path,
            "service,message\n\nts-order-service,réservation échouée\n",
            new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true)
        );
        var row = Assert.Single(CsvReader.ReadRecords(path));
        Assert.Equal("ts-order-service", row.Fields!["service"]); // not "\uFEFFservice"
        Assert.Equal("réservation échouée", row.Fields["message"]);
    }
}
