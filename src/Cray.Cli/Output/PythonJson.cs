using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cray.Cli.Output;

/// <summary>
/// JSON text exactly as the reference CLI prints it (Python's json.dumps with indent 2): ", " and
/// ": " separators, every non-ASCII character escaped as \uXXXX, and keys in the server's order.
/// </summary>
public static class PythonJson
{
    public static string Format(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(node, text, 0);
        return text.ToString();
    }

    private static void Write(JsonNode? node, StringBuilder text, int indent)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj when obj.Count == 0:
                text.Append("{}");
                break;
            case JsonObject obj:
                text.Append("{\n");
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!first)
                    {
                        text.Append(",\n");
                    }
                    first = false;
                    text.Append(' ', indent + 2);
                    AppendString(key, text);
                    text.Append(": ");
                    Write(value, text, indent + 2);
                }
                text.Append('\n').Append(' ', indent).Append('}');
                break;
            case JsonArray array when array.Count == 0:
                text.Append("[]");
                break;
            case JsonArray array:
                text.Append("[\n");
                for (var index = 0; index < array.Count; index++)
                {
                    if (index > 0)
                    {
                        text.Append(",\n");
                    }
                    text.Append(' ', indent + 2);
                    Write(array[index], text, indent + 2);
                }
                text.Append('\n').Append(' ', indent).Append(']');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        AppendString(value.GetValue<string>(), text);
                        break;
                    case JsonValueKind.True:
                        text.Append("true");
                        break;
                    case JsonValueKind.False:
                        text.Append("false");
                        break;
                    default:
                        text.Append(value.ToJsonString());
                        break;
                }
                break;
        }
    }

    public static void AppendString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var character in value)
        {
            switch (character)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
                    break;
                default:
                    if (character < 0x20 || character > 0x7e && character != 0x7f)
                    {
                        text.Append("\\u").Append(((int)character).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        text.Append(character);
                    }
                    break;
            }
        }
        text.Append('"');
    }
}
