using System.Text.Json;
using System.Text.Json.Nodes;

namespace Cray.Ims.Validation;

/// <summary>The body of a PATCH on a deleted collection: exactly <c>{"operation": "undelete"}</c>.</summary>
public static class UndeleteRequest
{
    public static void Parse(JsonObject? body)
    {
        JsonFields.RequireInput(body);
        foreach (var (field, value) in body)
        {
            if (field != "operation")
            {
                throw ImsProblems.Unsupported($"Unsupported field '{field}'. Only {{\"operation\": \"undelete\"}} is accepted.");
            }
            if (value is not JsonValue text || text.GetValueKind() != JsonValueKind.String || text.GetValue<string>() != "undelete")
            {
                throw ImsProblems.Unsupported($"Unsupported operation {value?.ToJsonString() ?? "null"}. The only operation is \"undelete\".");
            }
        }
    }
}
