"""A model wires parts: an input encoder, a recurrent stack and a head.

The model owns the parameter dict (one entry per part with parameters:
``"embeddings"``, ``"rnn"``, ``"dense"``) and lists the arrays in Keras's
``model.get_weights()`` order for the equivalent ``Sequential``
(``Embedding(mask_zero=True)``, the recurrent layers, ``Dense``), a
``Bidirectional`` layer contributing its forward arrays, then its backward
ones.  It holds configuration only; parameters and caches are passed in and
out, so one model serves any number of parameter sets.

Other structures (an encoder-decoder handing one stack's final states to
another) are wired from the same parts: every part's ``forward`` returns a
cache and its ``backward`` returns the gradients of its inputs, initial
states included.
"""

import numpy as np

from .encoders import make_encoder
from .heads import make_head
from .stack import RecurrentStack, reverse_packed


class SequenceModel:
    """Encoder -> recurrent stack -> head, over packed batches.

    Parameters
    ----------
    encoder : TokenEncoder, OneHotEncoder or DenseEncoder
    stack : RecurrentStack
    head : DenseHead or AttentionHead
        Or any head with the same interface (``key``, ``needs_sequence``,
        ``per_step``, ``n_outputs``, ``init_params``, ``weights``,
        ``forward``, ``backward``, ``summary_rows``; optionally ``predict``,
        used at inference instead of ``forward``).
    n_timesteps : int or None
        Input length, for the summary (and the "flatten" head).
    """

    def __init__(self, encoder, stack, head, n_timesteps=None):
        self.encoder = encoder
        self.stack = stack
        self.head = head
        self.n_timesteps = n_timesteps

    @classmethod
    def build(cls, input_kind, n_in, embedding_dim, layers, bidirectional, head, n_outputs,
              n_timesteps=None, embedding_trainable=True, zero_padding=None):
        """The model of the estimators: one input, a stack, a pooling and ``Dense`` head.

        Parameters
        ----------
        input_kind : {"tokens", "onehot", "dense"}
        n_in : int
            Vocabulary size (tokens, onehot) or features per step (dense).
        embedding_dim : int or None
            Embedding width (tokens only).
        layers : list of Recurrent
        bidirectional : bool
        head : {"last", "flatten", "mean", "max", "attention", "sequence"}
            "sequence" gives outputs at every input position, shape (B, T_in, n_outputs).
        n_outputs : int
        n_timesteps : int or None
            Input length, needed by the "flatten" head.
        embedding_trainable : bool, default True
            False freezes the embedding: no gradient, no update.
        zero_padding : bool or None, default None
            Per-step outputs at padded positions are zeros (Keras's
            ``Bidirectional``) rather than the last real step's; None: when
            ``bidirectional``.

        Returns
        -------
        SequenceModel
        """
        encoder = make_encoder(input_kind, n_in, embedding_dim, embedding_trainable)
        stack = RecurrentStack(layers, bidirectional)
        return cls(encoder, stack, make_head(head, stack.width, n_outputs, n_timesteps,
                                             zero_padding=bidirectional if zero_padding is None
                                             else zero_padding), n_timesteps)

    # ------------------------------------------------------------ shapes
    @property
    def input_kind(self):
        """"tokens", "onehot" or "dense"."""
        return self.encoder.kind

    @property
    def n_in(self):
        """Vocabulary size (token input) or features per step (float input)."""
        return self.encoder.n_features if self.input_kind == "dense" else self.encoder.n_ids

    @property
    def layers(self):
        return self.stack.layers

    @property
    def n_dir(self):
        return self.stack.n_dir

    @property
    def n_outputs(self):
        return self.head.n_outputs

    @property
    def per_step(self):
        """Whether outputs have one row per input position, (B, T_in, n_outputs)."""
        return self.head.per_step

    def layer_inputs(self):
        """``(layer, input width)`` pairs of the recurrent stack, bottom to top."""
        return self.stack.layer_inputs(self.encoder.width)

    def pack(self, X, mask=None):
        """Kernel layout of a batch of encoded inputs (ids (B, T) or floats (B, T, F))."""
        return self.encoder.pack(X, mask)

    def init_params(self, rng, dtype=np.float32):
        """Fresh parameters with Keras's default initialisers (encoder, stack, head in turn)."""
        params = {}
        if self.encoder.key is not None:
            params[self.encoder.key] = self.encoder.init_params(rng, dtype)
        params["rnn"] = self.stack.init_params(rng, self.encoder.width, dtype)
        params[self.head.key] = self.head.init_params(rng, dtype)
        return params

    def weights(self, params):
        """Parameter (or gradient) arrays in Keras ``get_weights()`` order (views, not copies)."""
        out = []
        if self.encoder.key is not None:
            out.extend(self.encoder.weights(params[self.encoder.key]))
        out.extend(self.stack.weights(params["rnn"]))
        out.extend(self.head.weights(params[self.head.key]))
        return out

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them (to check loaded weights cheaply)."""
        return (self.encoder.weight_shapes() + self.stack.weight_shapes(self.encoder.width)
                + self.head.weight_shapes())

    def n_frozen(self):
        """How many parameters training leaves unchanged (a frozen embedding's)."""
        return self.encoder.n_frozen

    def layer_summary(self):
        """Rows ``(name, output_shape, n_params)`` of a Keras-style summary."""
        rows = list(self.encoder.summary_rows(self.n_timesteps))
        rows += self.stack.summary_rows(self.encoder.width, self.n_timesteps, self.head.needs_sequence)
        rows += self.head.summary_rows(self.n_timesteps)
        return rows

    # ----------------------------------------------------------- forward
    def token_tables(self, params, tokens, n_threads=1):
        """The first layer's input projections of the ids ``tokens``, per direction.

        For :meth:`forward`'s ``token_tables``: a prediction makes them once for
        all its batches.

        Parameters
        ----------
        params : dict
        tokens : ndarray of shape (N,), int, or None
            Vocabulary ids, increasing; None for every id.
        n_threads : int, default 1

        Returns
        -------
        list of ndarray of shape (N, G)
            One table per direction.
        """
        if self.input_kind == "dense":
            raise ValueError("token tables need token input")
        layer = self.layers[0]
        embeddings = params.get(self.encoder.key) if self.encoder.key is not None else None
        return [layer.token_table(p, embeddings, tokens, n_threads) for p in params["rnn"][0]]

    def forward(self, params, packed, *, training=False, masks=None, bptt_truncate=None,
                n_threads=1, states=None, return_states=False, token_tables=None,
                embedding_noise=None):
        """Outputs of a packed batch.

        Parameters
        ----------
        params : dict
        packed : Packed
            ``data`` (T, B) ids or (T, B, F) floats.
        training : bool, default False
            Keep what :meth:`backward` needs.
        masks : list or None
            Per layer and direction, ``(input_mask, recurrent_mask)`` (already
            scaled), or None for no dropout.
        bptt_truncate : int or None
            Backpropagate through the last ``k`` steps only.
        n_threads : int, default 1
        states : list or None
            Initial state per layer and direction (``states[i][d]`` = ``(h,)``
            or ``(h, c)``, each (B, H)); zeros by default.
        return_states : bool, default False
            Also return the final states, in the same layout.
        token_tables : list or None
            Inference only: per direction, ``(table, lookup)`` of the first
            layer's projections (tables from :meth:`token_tables`), instead of
            projecting this batch's ids.
        embedding_noise : EmbeddingNoise or None
            Training only, token input through an embedding: embedding and
            spatial dropout of the embedding output (both directions see the
            same noise); ``masks``' first-layer input masks multiply it.

        Returns
        -------
        outputs : ndarray of shape (B, n_outputs), or (B, T_in, n_outputs) when :attr:`per_step`
        cache : dict or None
        states : list
            Only with ``return_states``.
        """
        if training and token_tables is not None:
            raise ValueError("token_tables are for inference only")
        start = packed.start
        h_last, seq, finals, stack_cache = self._run_stack(
            params, packed, training=training, masks=masks, bptt_truncate=bptt_truncate,
            n_threads=n_threads, states=states, token_tables=token_tables,
            embedding_noise=embedding_noise)
        cache = None
        if training:
            outputs, head_cache = self.head.forward(params[self.head.key], h_last, seq, packed)
            cache = {"stack": stack_cache, "head": head_cache, "start": start}
        else:
            # predict is optional in a head's interface: forward's outputs are the same
            predict = getattr(self.head, "predict", None)
            outputs = (predict(params[self.head.key], h_last, seq, packed) if predict is not None
                       else self.head.forward(params[self.head.key], h_last, seq, packed)[0])
        if return_states:
            return outputs, cache, finals
        return outputs, cache

    def final_states(self, params, packed, states=None, n_threads=1):
        """The stack's final states after ``packed`` (inference), without the head's outputs.

        What ``forward(..., return_states=True)[2]`` gives, without computing an output for
        every step: a language model reads a long prompt this way before it generates.
        """
        return self._run_stack(params, packed, n_threads=n_threads, states=states,
                               return_sequences=False)[2]

    def _run_stack(self, params, packed, *, training=False, masks=None, bptt_truncate=None,
                   n_threads=1, states=None, token_tables=None, embedding_noise=None,
                   return_sequences=None):
        """The encoder and the stack: ``(h_last, seq, finals, stack cache)`` (see :meth:`forward`).

        ``return_sequences`` (default: whether the head reads every step) keeps every step's
        output of the top layer."""
        start = packed.start
        p_enc = params[self.encoder.key] if self.encoder.key is not None else None
        first_inputs = []
        ids, token_scale, channels = packed.data, None, None
        if embedding_noise is not None:
            if self.input_kind != "tokens":
                raise ValueError("embedding and spatial dropout need token input through an embedding")
            ids, token_scale, channels = self.encoder.apply_noise(packed.data, embedding_noise)
        for d in range(self.n_dir):
            data = ids if d == 0 else reverse_packed(ids, start)
            in_mask = masks[0][d][0] if masks is not None else None
            shared = None  # one channel mask for the whole batch: folded into the kernel
            if channels is not None and channels.ndim == 1 and in_mask is None:
                shared = channels
            elif channels is not None:  # the same channels for both directions, times their own mask
                in_mask = channels if in_mask is None else channels * in_mask
            table = None if token_tables is None else token_tables[d]
            inp = self.encoder.layer_input(p_enc, data, start, in_mask, table, token_scale)
            first_inputs.append(inp if shared is None else inp._replace(channel_scale=shared))
        return self.stack.forward(
            params["rnn"], first_inputs, start, masks=masks, states=states, training=training,
            bptt_truncate=bptt_truncate,
            return_sequences=(self.head.needs_sequence if return_sequences is None
                              else return_sequences),
            n_threads=n_threads)

    def features(self, params, packed, n_threads=1):
        """What the head's output layer reads, without the output layer (inference).

        Parameters
        ----------
        params : dict
        packed : Packed
        n_threads : int, default 1

        Returns
        -------
        ndarray of shape (B, F)
            The pooled features (``F`` = the stack's width; times ``n_timesteps``
            for the "flatten" head).
        """
        h_last, seq, _, _ = self._run_stack(params, packed, n_threads=n_threads)
        return self.head.pool(params[self.head.key], h_last, seq, packed)

    def attention(self, params, packed, n_threads=1):
        """The attention head's weights at the input positions, (B, T_in) (inference).

        Raises
        ------
        ValueError
            If the head is not an attention head.
        """
        if not hasattr(self.head, "attention"):
            raise ValueError(f"the {self.head.pooling!r} head has no attention weights")
        _, seq, _, _ = self._run_stack(params, packed, n_threads=n_threads)
        return self.head.attention(params[self.head.key], seq, packed)

    # ---------------------------------------------------------- backward
    def backward(self, params, cache, d_outputs, d_finals=None, return_state_grads=False):
        """Gradients of every parameter given the gradient on the outputs.

        Parameters
        ----------
        params : dict
        cache : dict
            From :meth:`forward` with ``training=True``.
        d_outputs : ndarray
            Gradient on the outputs, shaped like them.
        d_finals : list or None
            Gradient on the final states (``d_finals[i][d]``), e.g. from a
            later window or a decoder that started from them.
        return_state_grads : bool, default False
            Also return the gradient on the initial states.

        Returns
        -------
        grads : dict
            Same structure and shapes as ``params``.
        d_states0 : list
            Only with ``return_state_grads``: ``d_states0[i][d]``.
        """
        grads = {}
        grads[self.head.key], d_last, d_seq = self.head.backward(
            params[self.head.key], cache["head"], d_outputs)
        grads["rnn"], d_inputs, d_states0 = self.stack.backward(
            params["rnn"], cache["stack"], cache["start"], d_last=d_last, d_seq=d_seq,
            d_finals=d_finals, input_grad=self.encoder.key is not None)
        if self.encoder.key is not None:
            grads[self.encoder.key] = self.encoder.backward(params[self.encoder.key], d_inputs)
        if return_state_grads:
            return grads, d_states0
        return grads

