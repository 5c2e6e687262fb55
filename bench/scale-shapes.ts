// The model shapes of bench:scale (issue 15): config.json fields of a random model of each.
export const SHAPES: Record<string, Record<string, unknown>> = {
  reference: { vocab_size: 1024, hidden_size: 256, intermediate_size: 688, num_hidden_layers: 4, num_attention_heads: 4 },
  'smollm-135m': {
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    tie_word_embeddings: true,
  },
  'tinyllama-1.1b': {
    vocab_size: 32000,
    hidden_size: 2048,
    intermediate_size: 5632,
    num_hidden_layers: 22,
    num_attention_heads: 32,
    num_key_value_heads: 4,
  },
  // Qwen2 with q/k/v biases; 0.49B params, most in the 151936-token tied embedding.
  'qwen2.5-0.5b': {
    model_type: 'qwen2',
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    rope_theta: 1e6,
    tie_word_embeddings: true,
  },
};
/** Shapes run only when named with --shape (not yet measured on this machine). */
export const OPT_IN = new Set(['qwen2.5-0.5b']);
