# Shared inline helpers of the Cython kernels: activations and row-major GEMM.
from cython cimport floating
from libc.stdint cimport int64_t
from libc.math cimport exp, tanh
cimport scipy.linalg.cython_blas as blas


cdef inline double activate(double x, int code) noexcept nogil:
    if code == 0:
        return tanh(x)
    if code == 1:
        return 1.0 / (1.0 + exp(-x))
    if code == 2:
        x = x / 6.0 + 0.5
        return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
    if code == 3:
        return x if x > 0.0 else 0.0
    return x


# The same rational tanh as the Numba backend (see fastrnn/kernels/_common.py), for float32
# data only, evaluated in float: max abs error 3.7e-7 (about 3 float32 ulps).
# The clamp is written in C: Cython turns conditional expressions into if-statements, which
# keep GCC from vectorising the activation loops (C's ?: is if-converted to min/max).
cdef extern from *:
    """
    static inline double fastrnn_clamp(double x, double lo, double hi) {
        x = x < lo ? lo : x;
        return x > hi ? hi : x;
    }
    static inline float fastrnn_tanh_rational32(float x) {
        float u, p, q;
        x = x < -9.0f ? -9.0f : x;
        x = x > 9.0f ? 9.0f : x;
        u = x * x;
        p = 9.99999979e-01f + u * (1.33807363e-01f + u * (3.49524845e-03f + u * (2.06036643e-05f
                                                                             + u * 1.33475232e-08f)));
        q = 1.0f + u * (4.67140517e-01f + u * (2.58756796e-02f + u * (3.28508649e-04f
                                                                      + u * 7.77355572e-07f)));
        x = x * p / q;  /* float rounding can overshoot 1 by an ulp */
        x = x < -1.0f ? -1.0f : x;
        return x > 1.0f ? 1.0f : x;
    }
    """
    double clamp "fastrnn_clamp" (double x, double lo, double hi) noexcept nogil
    float tanh_rational32 "fastrnn_tanh_rational32" (float x) noexcept nogil


cdef inline void activate_inplace(floating* v, int n, int code) noexcept nogil:
    # One tight loop per activation code, so the compiler can vectorise it.
    cdef int i
    cdef float half = 0.5
    if code == 0:
        for i in range(n):
            if floating is float:
                v[i] = tanh_rational32(v[i])
            else:
                v[i] = tanh(v[i])
    elif code == 1:
        for i in range(n):
            if floating is float:
                v[i] = half + half * tanh_rational32(half * v[i])
            else:
                v[i] = 1.0 / (1.0 + exp(-v[i]))
    elif code == 2:
        for i in range(n):
            v[i] = clamp(v[i] / 6.0 + 0.5, 0.0, 1.0)
    elif code == 3:
        for i in range(n):
            v[i] = max(v[i], 0.0)


cdef inline double activate_grad(double y, int code) noexcept nogil:
    if code == 0:
        return 1.0 - y * y
    if code == 1:
        return y * (1.0 - y)
    if code == 2:
        return 1.0 / 6.0 if (y > 0.0 and y < 1.0) else 0.0
    if code == 3:
        return 1.0 if y > 0.0 else 0.0
    return 1.0


cdef inline void activate_grad_into(const floating* y, floating* out, int n, int code) noexcept nogil:
    # out[i] = activate_grad(y[i], code), one tight loop per code so the compiler can vectorise it.
    cdef int i
    if code == 0:
        for i in range(n):
            out[i] = 1 - y[i] * y[i]
    elif code == 1:
        for i in range(n):
            out[i] = y[i] * (1 - y[i])
    else:
        for i in range(n):
            out[i] = activate_grad(y[i], code)


# Most multiply-adds in one BLAS call when gemm splits a product without transposes into column
# blocks, so that OpenBLAS's AVX-512 "small matrix" kernel runs it on the operands in place
# instead of packing the whole recurrent kernel on every step (see fastrnn/kernels/_blas.py,
# whose SMALL_GEMM_MACS and gemm_block_width this follows; a test checks the constant).
cdef enum:
    _SMALL_GEMM_MACS = 1000000


cdef inline int gemm_block_width(int m, int k, int n) noexcept nogil:
    cdef long long mk = <long long>m * k
    cdef long long width
    if mk == 0 or mk * n <= _SMALL_GEMM_MACS:
        return n
    width = _SMALL_GEMM_MACS // mk // 8 * 8
    return <int>width if width >= 8 else n


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, const floating* A, int lda,
                      const floating* B, int ldb, floating* C, int ldc, bint accumulate) noexcept nogil:
    # Row-major C(m, n) = op(A) @ op(B) (+ C when accumulate), op(X) = X.T when trans_x.
    # Column-major BLAS sees the transposes, so it computes C^T = op(B)^T op(A)^T.  Without
    # transposes, one call per block of gemm_block_width columns.
    cdef floating one = 1.0
    cdef floating beta = 1.0 if accumulate else 0.0
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef int width = n, c0 = 0, nb
    if m == 0 or n == 0:
        return
    if not trans_a and not trans_b:
        width = gemm_block_width(m, k, n)
    while c0 < n:
        nb = min(width, n - c0)
        if floating is double:
            blas.dgemm(&tb, &ta, &nb, &m, &k, &one, <double*>(B + c0), &ldb, <double*>A, &lda,
                       &beta, C + c0, &ldc)
        else:
            blas.sgemm(&tb, &ta, &nb, &m, &k, &one, <float*>(B + c0), &ldb, <float*>A, &lda,
                       &beta, C + c0, &ldc)
        c0 += width


cdef inline int chunk_lo(int B, int n_chunks, int j) noexcept nogil:
    # First row of batch slice j (slice j is [chunk_lo(j), chunk_lo(j + 1))).
    cdef int size = (B + n_chunks - 1) // n_chunks
    return min(j * size, B)


cdef inline int active_end(const int[::1] start, int lo, int hi, int t) noexcept nogil:
    cdef int b, end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end


cdef inline void recurrent_backward_step(const int[::1] start, const floating[:, ::1] UT,
                                         const floating[:, ::1] rec_mask, floating[:, :, ::1] dA,
                                         floating[:, ::1] dh, floating[:, ::1] dhm,
                                         int t, int lo, int end) noexcept nogil:
    # Backward through h_{t-1} @ U for rows [lo, end) at step t (SimpleRNN, LSTM): set
    # dh = (dA[t] @ U.T) * mask on real rows, given UT = U.T contiguous (BLAS's product with a
    # transposed operand took 8.6 us against 5.5 for 64 x 128 x 32).  The gradient on U is one
    # product after the time loop (fastrnn.utils.linalg.step_outer_sum).
    cdef int H = dh.shape[1], G = dA.shape[2], b, k
    cdef bint use_mask = rec_mask.shape[0] > 0
    gemm(False, False, end - lo, H, G, &dA[t, lo, 0], G, &UT[0, 0], H, &dhm[lo, 0], H, False)
    for b in range(lo, end):
        if start[b] <= t:
            for k in range(H):
                dh[b, k] = dhm[b, k] * rec_mask[b, k] if use_mask else dhm[b, k]


cdef inline void input_recurrent_backward_step(const int[::1] start, const floating[:, ::1] UT,
                                               const floating[:, ::1] rec_mask, floating[:, :, ::1] dA,
                                               floating[:, :, ::1] dX, floating[:, ::1] dh,
                                               floating[:, ::1] dxh, int t, int lo,
                                               int end) noexcept nogil:
    # Backward through [x_t, h_{t-1} * mask] @ U for rows [lo, end) at step t (LSTM; U stacks
    # the input kernel over the recurrent one): on real rows, dX[t] and dh from
    # dxh = dA[t] @ U.T (the caller zeroes dX[t] on the others).  dX of width 0: no input, as
    # recurrent_backward_step.
    cdef int H = dh.shape[1], G = dA.shape[2], F = dX.shape[2], b, k
    cdef bint use_mask = rec_mask.shape[0] > 0
    gemm(False, False, end - lo, F + H, G, &dA[t, lo, 0], G, &UT[0, 0], F + H, &dxh[lo, 0], F + H, False)
    for b in range(lo, end):
        if start[b] <= t:
            for k in range(F):
                dX[t, b, k] = dxh[b, k]
            for k in range(H):
                dh[b, k] = dxh[b, F + k] * rec_mask[b, k] if use_mask else dxh[b, F + k]


# Denormal floats are flushed to zero while a chunk runs, as the Numba backend does (see
# fastrnn/kernels/_common.py): the SSE control register's FTZ and DAZ bits are set on the
# thread that runs the chunk and its old value restored afterwards.  x86 only.
cdef extern from *:
    """
    #if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    #include <xmmintrin.h>
    static inline unsigned int fastrnn_flush_denormals(int on) {
        unsigned int old = _mm_getcsr();
        if (on) _mm_setcsr(old | 0x8040u);
        return old;
    }
    static inline void fastrnn_restore_csr(unsigned int old) { _mm_setcsr(old); }
    #else
    static inline unsigned int fastrnn_flush_denormals(int on) { (void)on; return 0; }
    static inline void fastrnn_restore_csr(unsigned int old) { (void)old; }
    #endif
    """
    unsigned int flush_denormals "fastrnn_flush_denormals" (int on) noexcept nogil
    void restore_csr "fastrnn_restore_csr" (unsigned int old) noexcept nogil


# Running a chunk on the engine's thread pool (fastrnn.utils.threads), which the Numba backend
# uses too: one pool, no OpenMP runtime whose threads would spin beside it.  The pool's flags are
# int64 cells written and polled by several threads (GCC/Clang atomics).
cdef extern from *:
    """
    #include <sched.h>
    #include <stdint.h>
    #if defined(__x86_64__) || defined(__i386__)
    #include <immintrin.h>
    static inline void fastrnn_cpu_relax(void) { _mm_pause(); }
    #else
    static inline void fastrnn_cpu_relax(void) { }
    #endif
    static inline int64_t fastrnn_load_acquire(const int64_t* p) {
        return __atomic_load_n(p, __ATOMIC_ACQUIRE);
    }
    static inline void fastrnn_store_seq_cst(int64_t* p, int64_t v) {
        __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
    }
    """
    int64_t load_acquire "fastrnn_load_acquire" (const int64_t* p) noexcept nogil
    void store_seq_cst "fastrnn_store_seq_cst" (int64_t* p, int64_t v) noexcept nogil
    void cpu_relax "fastrnn_cpu_relax" () noexcept nogil
    int sched_yield() noexcept nogil


cdef inline unsigned int enter_chunk(int64_t[::1] wake, int64_t wake_to, bint flush) noexcept nogil:
    """Start of a chunk, GIL-free: raise the pool's wake flag (slice 0 starts the thread of slice
    1; see fastrnn.utils.threads.first_task_wake), then flush denormals.  Returns the old CSR."""
    if wake.shape[0] > 0:
        store_seq_cst(&wake[0], wake_to)
    return flush_denormals(flush)
