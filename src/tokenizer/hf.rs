//! `tokenizer.json` through the `tokenizers` crate: the tokenizer of every repo that ships one
//! (BART's byte-level BPE, T5's and NLLB's Unigram). Encoding adds the special tokens the
//! file's post-processor defines, as transformers' fast tokenizers do by default; decoding
//! skips special tokens and does no clean-up of tokenization spaces, as the families svodka
//! supports configure it.

use std::path::{Path, PathBuf};

use super::TokenizerError;

pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
}

impl HfTokenizer {
    /// `tokenizer.json` in `dir`.
    pub fn from_dir(dir: &Path) -> Result<HfTokenizer, TokenizerError> {
        let path = dir.join("tokenizer.json");
        let inner = tokenizers::Tokenizer::from_file(&path).map_err(|e| TokenizerError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(HfTokenizer { inner, path })
    }

    /// Ids with the post-processor's special tokens (`<s> … </s>` for BART, `… </s>` for T5).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.inner
            .encode(text, true)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TokenizerError::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, TokenizerError> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| TokenizerError::Invalid {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}
