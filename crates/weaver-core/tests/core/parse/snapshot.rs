//! One snapshot of a whole realistic note, to catch any unintended change in the output.

use super::parse;

const NOTE: &str = r##"---
title: Weekly Review
aliases: [Review, "Week 12"]
tags: [review, "#work/weekly"]
created: 2024-03-18
rating: 4
---
# Weekly Review

Summary of the week with [[Projects/Plan#Goals|the plan]] and [[Meeting Notes]]. #status/done
See also [the spec](../Specs/API%20Spec.md#Endpoints "spec") and <https://example.com/board>.

## Tasks

- [x] Ship the parser ^ship
- [ ] Write docs
  - [/] Draft outline
- [-] Cancelled idea

> [!warning]+ Open questions
> Does the graph need [[Graph#^weights]]? #question

| Metric | Value |
|--------|-------|
| Notes  | [[Stats\|stats]] |

```python
# not a heading, #not-a-tag, [[not a link]]
print("hi")
```

%% private: [[Secret]] #hidden %%
![[diagram.png|400]]

Closing thoughts, see [[#Tasks]].

^closing
"##;

#[test]
fn realistic_note() {
    insta::assert_json_snapshot!(parse(NOTE));
}
