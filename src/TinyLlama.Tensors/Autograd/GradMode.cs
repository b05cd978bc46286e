namespace TinyLlama.Tensors;

/// <summary>Whether ops record Functions for autograd on this thread.</summary>
public static class GradMode
{
    [ThreadStatic] private static int s_disabledDepth;

    public static bool IsEnabled => s_disabledDepth == 0;

    /// <summary>Turns recording off until the returned handle is disposed (inference, optimizer updates, backward itself).</summary>
    public static IDisposable NoGrad() => new NoGradScope();

    private sealed class NoGradScope : IDisposable
    {
        private bool _disposed;

        public NoGradScope() => s_disabledDepth++;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            s_disabledDepth--;
        }
    }
}
