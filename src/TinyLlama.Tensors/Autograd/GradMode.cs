namespace TinyLlama.Tensors;

/// <summary>Whether ops record Functions for autograd on this thread.</summary>
public static class GradMode
{
    [ThreadStatic] private static int s_disabledDepth;

    public static bool IsEnabled => s_disabledDepth == 0;

    /// <summary>Turns recording off until the returned handle is disposed (inference, optimizer updates, backward itself).</summary>
    public static IDisposable NoGrad() => new NoGradScope();

    /// <summary>
    /// Turns recording on until the returned handle is disposed, whatever NoGrad scopes enclose it (as PyTorch's
    /// <c>torch.enable_grad</c>); disposing restores the state before. Activation checkpointing uses it to record
    /// the recomputed forward inside backward, which otherwise runs with autograd off. Dispose handles in the
    /// reverse order of creation, on the thread that created them.
    /// </summary>
    public static IDisposable EnableGrad() => new EnableGradScope();

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

    private sealed class EnableGradScope : IDisposable
    {
        private readonly int _savedDepth;
        private bool _disposed;

        public EnableGradScope()
        {
            _savedDepth = s_disabledDepth;
            s_disabledDepth = 0;
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            // NoGrad scopes opened inside are balanced by then, so the depth is back at 0.
            s_disabledDepth = _savedDepth;
        }
    }
}
