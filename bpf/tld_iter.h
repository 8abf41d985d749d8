/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The context of a task iterator program (SEC("iter/task")), relocated
 * against kernel BTF.  The includer defines the fields of struct
 * task_struct it reads, with __attribute__((preserve_access_index)).
 */
#ifndef TLD_ITER_H
#define TLD_ITER_H

struct task_struct;
struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

#endif /* TLD_ITER_H */
