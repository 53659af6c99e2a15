using System.Threading.Channels;
using Cray.Platform.Work;

namespace Cray.Ims.Jobs;

/// <summary>Connects the API to the worker in this process: wakes it for new jobs and stops running ones.</summary>
public sealed class JobControl : RunningWork
{
    private readonly Channel<string> created = Channel.CreateUnbounded<string>();

    public ChannelReader<string> Created => created.Reader;

    public void NotifyCreated(string jobId) => created.Writer.TryWrite(jobId);
}
