using System.Net;
using System.Net.Sockets;

namespace Cray.Tests.Support;

/// <summary>Free loopback ports for servers a test starts on a port it names.</summary>
public static class FreeTcpPort
{
    /// <summary>
    /// A port free now, below Linux's ephemeral range (32768 and up): the test projects run in
    /// parallel, and their outgoing connections take ephemeral ports, which could take a port found
    /// free there before the server binds it.
    /// </summary>
    public static int Find()
    {
        while (true)
        {
            var port = Random.Shared.Next(20000, 32768);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
    }
}
