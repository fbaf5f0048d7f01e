using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Repro.Core.Tests.Data;

/// <summary>
/// An HTTP server on 127.0.0.1 serving fixed files, with Range support that can be switched off and a way to
/// cut the first response short, for download tests without internet.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Dictionary<string, byte[]> files = new(StringComparer.Ordinal);
    private readonly Task loop;

    public LoopbackServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        listener.Prefixes.Add(BaseUrl.ToString());
        listener.Start();
        loop = Task.Run(Serve);
    }

    public Uri BaseUrl { get; }

    /// <summary>Whether Range requests get 206 partial responses (else the whole file with 200).</summary>
    public bool HonourRange { get; set; } = true;

    /// <summary>When set, the next response announces the full length but sends only this many bytes and drops the connection.</summary>
    public int? CutNextResponseAt { get; set; }

    /// <summary>Range header of each request ("" when none).</summary>
    public ConcurrentQueue<string> RangeHeaders { get; } = new();

    public void Add(string name, byte[] content) => files[name] = content;

    private async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                Respond(ctx);
            }
            catch (Exception e) when (e is HttpListenerException or IOException)
            {
                // The client went away.
            }
        }
    }

    private void Respond(HttpListenerContext ctx)
    {
        var range = ctx.Request.Headers["Range"] ?? "";
        RangeHeaders.Enqueue(range);
        var name = ctx.Request.Url!.AbsolutePath.TrimStart('/');
        if (!files.TryGetValue(name, out var content))
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.Close();
            return;
        }
        long from = 0;
        if (HonourRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (from >= content.Length)
            {
                ctx.Response.StatusCode = 416;
                ctx.Response.Close();
                return;
            }
            ctx.Response.StatusCode = 206;
            ctx.Response.AddHeader("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}");
        }
        var body = content.AsSpan((int)from).ToArray();
        ctx.Response.ContentLength64 = body.Length;
        if (CutNextResponseAt is int cut)
        {
            CutNextResponseAt = null;
            ctx.Response.OutputStream.Write(body, 0, cut);
            ctx.Response.OutputStream.Flush();
            ctx.Response.Abort();
            return;
        }
        ctx.Response.OutputStream.Write(body);
        ctx.Response.Close();
    }

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
        try
        {
            loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Stopping the listener ends the loop with an exception on some platforms.
        }
    }
}
