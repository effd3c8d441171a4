/* Build tool: writes a C file defining `const char NAME[]` with the bytes
 * of a text file (NUL-terminated), so data kept beside the sources (the
 * OpenAPI descriptions) is part of the binary.
 * usage: embed_text NAME INPUT OUTPUT */
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: embed_text NAME INPUT OUTPUT\n");
		return 2;
	}
	FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "w");
	if (!in || !out) {
		perror("embed_text");
		return 1;
	}
	fprintf(out, "/* generated from %s */\nextern const char %s[];\nconst char %s[] = {", argv[2], argv[1], argv[1]);
	int ch;
	unsigned long n = 0;
	while ((ch = fgetc(in)) != EOF)
		fprintf(out, "%s0x%02x,", n++ % 16 ? "" : "\n", (unsigned)ch);
	fprintf(out, "\n0x00 };\n");
	int bad = ferror(in) || fclose(in) != 0;
	bad |= fclose(out) != 0;
	return bad;
}
