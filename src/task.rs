//! The two things svodka asks of a model: summarise or translate.
//!
//! One enum for the configuration (which section's settings apply), the model cards (what a
//! card's model is for), the backends (the T5 task prefix, the stage of an error) and the
//! bench (which metrics score it). A leaf, so that every layer can name a task.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    #[serde(alias = "summarise")]
    Summarize,
    Translate,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Summarize => "summarize",
            Task::Translate => "translate",
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
